// One Raft node per terminal:
//
//   npx simpleraft-node --name n1 --port 5001 \
//     --peers n2=127.0.0.1:5002,n3=127.0.0.1:5003 --api-port 8001
//
// (bin/simpleraft-node runs the compiled dist/main.js; in development,
// `npx ts-node --transpile-only src/main.ts` runs this source.)
//
// Wiring only: options, storage, transport, state machine, client API. The
// protocol lives in src/states and src/server; the loop in src/server/node.ts.
// Exit codes: 0 clean shutdown, 1 runtime failure (e.g. corrupt data
// directory), 2 bad configuration, or a data directory this version cannot
// use (another node's, or one holding out-of-range terms: issue 18).

import { CommanderError } from 'commander';
import { ApiServer } from './api/http-server';
import { ConfigError, NodeOptions, parseNodeOptions } from './cli/node-options';
import { lockDataDir } from './cli/data-dir-lock';
import { DropLog } from './cli/drop-log';
import { createLogger, Logger } from './cli/logger';
import { KvStore, Lessor } from './kv';
import { FileStorage, OutOfRangeDataError } from './log/file-storage';
import { MemoryStorage, Storage } from './log/storage';
import { MemberDirectory } from './server/member-directory';
import { RaftNode } from './server/node';
import { Publisher, publishMember } from './server/publish-member';
import { Transport } from './transport/transport';
import { EventHub } from './ui/event-hub';
import { NodeObserver, publishReady } from './ui/node-observer';
import { ObservedTransport } from './ui/observed-transport';
import { UiServer } from './ui/ui-server';
import { UdpGossipTransport } from './transport/udp-gossip';
import { ZeroMqTransport } from './transport/zeromq';

async function main(): Promise<number> {
  let opts: NodeOptions;
  try {
    opts = parseNodeOptions(process.argv.slice(2));
  } catch (e) {
    // --help: commander has printed the usage.
    if (e instanceof CommanderError) return 0;
    if (e instanceof ConfigError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger(opts.name, opts.logFormat, opts.logLevel === 'debug');

  let storage: Storage;
  if (opts.dataDir === null) {
    log.info('no data directory: everything is kept in memory and lost on exit');
    storage = new MemoryStorage();
  } else {
    try {
      // Before anything in the directory is read; released when the process exits.
      const lock = lockDataDir(opts.dataDir);
      process.once('exit', () => lock.release());
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      return 2;
    }
    try {
      const fileStorage = FileStorage.open({ dir: opts.dataDir, clusterId: opts.clusterId, node: opts.name, log: (l) => log.info(l) });
      const r = fileStorage.recovery;
      log.info(
        r.created
          ? `new data directory ${opts.dataDir}`
          : `recovered ${opts.dataDir}: snapshot at ${r.snapshotIndex}, ${r.entries} entries, term ${fileStorage.hardState().currentTerm}`,
      );
      storage = fileStorage;
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      if (e instanceof OutOfRangeDataError) {
        process.stderr.write(outOfRangeAdvice(opts.dataDir));
        return 2;
      }
      return (e as Error).name === 'DataDirMismatchError' ? 2 : 1;
    }
  }

  // --log-level debug: a line per dropped message, bounded per second (src/cli/drop-log.ts).
  const dropLog = opts.logLevel === 'debug' ? new DropLog({ log: (reason) => log.event({ kind: 'drop', reason }) }) : null;
  const onDrop = dropLog?.onDrop;
  const network: Transport & { maxEntryBytes(): number } =
    opts.transport === 'zmq'
      ? new ZeroMqTransport({ name: opts.name, host: opts.host, port: opts.port, peers: opts.peers, onDrop })
      : new UdpGossipTransport({ name: opts.name, host: opts.host, port: opts.port, peers: opts.peers, dropRate: opts.udpDropRate, onDrop });

  // The live view (--observe, --ui): events go to a hub that builds nothing while nobody watches.
  const hub = opts.observe ? new EventHub({ node: opts.name }) : null;
  const transport = hub ? new ObservedTransport(network, hub) : network;

  // The store and its client key leases (docs/leases.md): the Lessor's
  // replicated part lives in the store's snapshots; the node runs its
  // leader-only part (deadlines, expiry) on the real clock.
  const lessor = new Lessor();
  const kv = new KvStore({ leases: lessor });
  // Members learn each other's client URLs through the log (as etcd members
  // publish theirs); --peer-apis is only a fallback until they have.
  const members = new MemberDirectory(kv, opts.peerApis);
  const ticksPerMs = (ms: number) => Math.max(1, Math.round(ms / opts.tickMs));
  const node = new RaftNode({
    name: opts.name,
    peers: opts.peers.map((p) => p.name),
    apiAddresses: members,
    storage,
    transport,
    stateMachine: members,
    lessor,
    tickMs: opts.tickMs,
    electionTicks: ticksPerMs(opts.electionTimeoutMs),
    heartbeatTicks: ticksPerMs(opts.heartbeatMs),
    initialState: opts.initialState,
    readMode: opts.readMode,
    snapshotEvery: opts.snapshotEvery,
    maxEntryBytes: network.maxEntryBytes(),
    onEvent: (e) => {
      log.event(e);
      hub?.publish(e);
    },
    onReady: hub ? (rd) => publishReady(hub, rd) : undefined,
    onFatal: (e) => {
      hub?.publish({ kind: 'fault', fault: 'storage', detail: e.message });
      // The disk refused a write: nothing more may be promised. Exit non-zero.
      log.error(`storage failed: ${e.message}; stopping`);
      process.exitCode = 1;
      void api.close().finally(() => process.exit(1));
    },
  });
  const observer = hub && transport instanceof ObservedTransport ? new NodeObserver({ node, hub, transport, lessor, tickMs: opts.tickMs }) : null;
  const api = new ApiServer({
    node,
    kv,
    host: opts.apiHost,
    port: opts.apiPort,
    peerApis: Object.fromEntries(opts.peerApis),
    log: (l) => log.error(l),
    debug: (l) => log.debug(l),
    extraRoutes: observer ? (req, res, p) => observer.handle(req, res, p) : undefined,
  });

  try {
    await node.start();
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  let url: string;
  try {
    url = await api.listen();
  } catch (e) {
    await node.stop();
    process.stderr.write(`error: --api-port ${opts.apiPort}: ${(e as Error).message}\n`);
    return 2;
  }
  // A wildcard API address is no place to send clients: publish the node's own host with the API port.
  const wildcard = opts.apiHost === '0.0.0.0' || opts.apiHost === '::';
  const clientUrl = wildcard ? `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${api.port}` : url;
  const publisher = publishMember(node, opts.name, clientUrl, {
    onPublished: () => log.info(`published client URL ${clientUrl} to the cluster`),
    isPublished: () => members.members().get(String(opts.name))?.[0] === clientUrl,
  });
  let ui: UiServer | null = null;
  if (opts.uiPort !== null) {
    const members = [{ name: opts.name, api: url }, ...[...opts.peerApis].map(([name, api]) => ({ name, api }))];
    ui = new UiServer({ members, host: opts.apiHost, port: opts.uiPort });
    try {
      log.info(`live view: ${await ui.listen()} (peers appear there if started with --observe and listed in --peer-apis)`);
    } catch (e) {
      await api.close();
      await node.stop();
      process.stderr.write(`error: --ui-port ${opts.uiPort}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  log.info(
    `node ${opts.name} started as ${opts.initialState} (${opts.transport} on ${opts.host}:${opts.port}, peers ${opts.peers.map((p) => p.name).join(', ') || 'none'}); client API ${url}`,
  );

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: shutting down`);
      await ui?.close();
      await shutdown(log, api, node, storage, publisher);
      dropLog?.close();
      resolve(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });
}

/** How to recover a data directory an older version filled with an out-of-range term or index (issue 18). */
function outOfRangeAdvice(dir: string): string {
  return [
    `The data directory ${dir} holds a term or log index this version refuses (2^53 - 2^20 or more).`,
    'An older version accepted such a number from a forged or faulty message; this one never writes it.',
    'The directory was not modified. To recover this node:',
    `  1. move the directory aside (mv ${dir} ${dir}.out-of-range) or delete it;`,
    '  2. start the node again with the same flags: it begins empty and catches up from the leader.',
    'Wiping forgets this node\'s votes and log: do it one node at a time, only while the other members',
    'form a majority that is up and starts cleanly. If every member\'s directory has this problem, the',
    'cluster cannot be recovered from itself: start a new cluster and restore its keys from a backup.',
    '',
  ].join('\n');
}

/** Stop accepting clients, stop the node (no more ticks or messages), flush storage, close sockets. */
async function shutdown(log: Logger, api: ApiServer, node: RaftNode, storage: Storage, publisher: Publisher): Promise<void> {
  publisher.stop();
  await api.close();
  await node.stop();
  if (storage instanceof FileStorage) storage.close();
  log.info('stopped');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`fatal: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);

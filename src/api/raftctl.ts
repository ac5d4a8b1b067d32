// raftctl: an etcdctl-style command line client for the HTTP API.
//
//   raftctl --endpoints http://127.0.0.1:8001,http://127.0.0.1:8002 put greeting hello
//   raftctl get greeting            raftctl get demo/ --prefix
//   raftctl del demo/ --prefix      raftctl endpoint status      raftctl member list
//   raftctl lease grant 60          raftctl put k v --lease 694d77aa9e38260f
//   raftctl lease keep-alive 694d77aa9e38260f      raftctl lease timetolive ID --keys
//   raftctl lease revoke ID         raftctl lease list
//   raftctl get k --rev 5           raftctl compaction 5
//   raftctl watch demo/ --prefix --rev 1 --prev-kv     (until Ctrl-C)
//   raftctl txn < file              (etcdctl's txn syntax; -i prompts for it)
// Lease IDs are printed and read in hexadecimal, as etcdctl does.
//
// Exit codes: 0 success, 1 error (the cluster refused or could not be
// reached), 2 usage (unknown command or option, bad argument).

import { Command, CommanderError, Option } from 'commander';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { ApiClientError, KeyValue, RaftClient, StatusJson, WatchEvent, keyValueFromJson, normalizeEndpoint } from './client';
import { TxnReader, TxnSyntaxError } from './txn-syntax';

const DEFAULT_ENDPOINTS = 'http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003';

export interface Io {
  stdout: { write(data: string | Uint8Array): unknown };
  stderr: { write(data: string | Uint8Array): unknown };
  /** Ends `lease keep-alive` and `watch`; without one, SIGINT or SIGTERM does. */
  signal?: AbortSignal;
  /** Where `txn` reads its lines; default process.stdin. */
  stdin?: Readable;
}

/** A bad command line: exit code 2. */
class UsageError extends Error {}

interface GlobalOpts {
  endpoints: string;
  commandTimeout: string;
  writeOut?: 'simple' | 'json' | 'table';
}

/** Run raftctl with `args` (without node and script); resolves with the exit code. */
export async function main(args: string[], io: Io = process): Promise<number> {
  const out = (s: string | Uint8Array): void => void io.stdout.write(s);
  const program = new Command('raftctl');
  program
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run raftctl --help for usage)')
    .description('etcdctl-style client for a simpleraft-ts cluster')
    .option(
      '--endpoints <urls>',
      'comma-separated API endpoints (env RAFTCTL_ENDPOINTS, else ETCDCTL_ENDPOINTS as etcdctl reads it)',
      process.env.RAFTCTL_ENDPOINTS ?? process.env.ETCDCTL_ENDPOINTS ?? DEFAULT_ENDPOINTS,
    )
    .option('--command-timeout <duration>', 'deadline for the whole command, e.g. 500ms, 5s, 1m', '5s')
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(['simple', 'json', 'table']));

  const client = (): RaftClient => {
    const g = program.opts<GlobalOpts>();
    const endpoints = g.endpoints.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
    if (endpoints.length === 0) throw new UsageError('--endpoints: no endpoint given');
    for (const e of endpoints) {
      try {
        normalizeEndpoint(e);
      } catch {
        throw new UsageError(`--endpoints: not an http URL: ${e}`);
      }
    }
    return new RaftClient({ endpoints, timeoutMs: parseDuration(g.commandTimeout, '--command-timeout') });
  };
  const format = (fallback: 'simple' | 'table') => program.opts<GlobalOpts>().writeOut ?? fallback;
  const json = (x: unknown): void => out(JSON.stringify(x, null, 2) + '\n');
  const printKvs = (kvs: KeyValue[]) => {
    for (const kv of kvs) {
      out(kv.key);
      out('\n');
      out(kv.value);
      out('\n');
    }
  };

  program
    .command('put')
    .description('put a key (prints OK)')
    .argument('<key>')
    .argument('<value>')
    .option('--lease <id>', 'attach the key to a lease (ID in hexadecimal, as etcdctl prints it)')
    .option('--prev-kv', 'print the previous key-value pair')
    .action(async (key: string, value: string, o: { lease?: string; prevKv?: boolean }) => {
      const leaseId = o.lease === undefined ? undefined : parseLease(o.lease, '--lease');
      const r = await client().put(key, value, { lease: leaseId, prevKv: o.prevKv });
      if (format('simple') === 'json') return json(r.raw);
      out('OK\n');
      if (r.prevKv) printKvs([r.prevKv]);
    });

  program
    .command('get')
    .description('get a key or a range of keys')
    .argument('<key>')
    .argument('[range_end]', 'end of the range [key, range_end)')
    .option('--prefix', 'every key with this prefix')
    .option('--from-key', 'every key >= key')
    .option('--limit <n>', 'at most n keys')
    .option('--keys-only', 'print only the keys')
    .option('--count-only', 'print only the number of keys')
    .option('--print-value-only', 'print only the values')
    .option('--rev <revision>', 'read the store as of this revision')
    .addOption(new Option('--consistency <level>', 'l: linearizable, s: serializable').choices(['l', 's']).default('l'))
    .action(async (key: string, rangeEnd: string | undefined, o: Record<string, unknown>) => {
      checkRangeFlags(rangeEnd, o);
      const limit = o.limit === undefined ? undefined : parseCount(String(o.limit), '--limit');
      const r = await client().get(key, {
        rangeEnd,
        prefix: o.prefix === true,
        fromKey: o.fromKey === true,
        limit,
        keysOnly: o.keysOnly === true,
        countOnly: o.countOnly === true,
        serializable: o.consistency === 's',
        revision: o.rev === undefined ? undefined : parseCount(String(o.rev), '--rev'),
      });
      if (format('simple') === 'json') return json(r.raw);
      if (o.countOnly) return out(`${r.count}\n`);
      for (const kv of r.kvs) {
        if (!o.printValueOnly) {
          out(kv.key);
          out('\n');
        }
        if (!o.keysOnly) {
          out(kv.value);
          out('\n');
        }
      }
    });

  program
    .command('del')
    .description('delete a key or a range of keys (prints how many were deleted)')
    .argument('<key>')
    .argument('[range_end]', 'end of the range [key, range_end)')
    .option('--prefix', 'every key with this prefix')
    .option('--from-key', 'every key >= key')
    .option('--prev-kv', 'print the deleted key-value pairs')
    .action(async (key: string, rangeEnd: string | undefined, o: Record<string, unknown>) => {
      checkRangeFlags(rangeEnd, o);
      const r = await client().delete(key, {
        rangeEnd,
        prefix: o.prefix === true,
        fromKey: o.fromKey === true,
        prevKv: o.prevKv === true,
      });
      if (format('simple') === 'json') return json(r.raw);
      out(`${r.deleted}\n`);
      printKvs(r.prevKvs);
    });

  program
    .command('compaction')
    .description('forget the history before a revision (prints "compacted revision N")')
    .argument('<revision>')
    .option('--physical', 'as etcdctl (ours is done once applied either way)')
    .action(async (rev: string, o: { physical?: boolean }) => {
      const revision = parseCount(rev, 'revision');
      const r = await client().compact(revision, o.physical === true);
      if (format('simple') === 'json') return json(r.raw);
      out(`compacted revision ${revision}\n`);
    });

  program
    .command('watch')
    .description('print changes to a key or range as they happen, until interrupted (Ctrl-C)')
    .argument('<key>')
    .argument('[range_end]', 'end of the range [key, range_end)')
    .option('--prefix', 'every key with this prefix')
    .option('--from-key', 'every key >= key')
    .option('--rev <revision>', 'start from this revision (replays the history since)')
    .option('--prev-kv', 'also print each key\'s previous value')
    .action(async (key: string, rangeEnd: string | undefined, o: Record<string, unknown>) => {
      checkRangeFlags(rangeEnd, o);
      const revision = o.rev === undefined ? undefined : parseCount(String(o.rev), '--rev');
      const asJson = format('simple') === 'json';
      // etcdctl's simple format: the type, then the previous pair if asked, then the pair.
      const print = (events: WatchEvent[]) => {
        for (const e of events) {
          if (asJson) {
            json(e);
            continue;
          }
          out(`${e.type}\n`);
          if (e.prevKv) printKvs([e.prevKv]);
          printKvs([e.kv]);
        }
      };
      const end = await untilInterrupted(io, (signal) =>
        client().watch(key, { rangeEnd, prefix: o.prefix === true, fromKey: o.fromKey === true, revision, prevKv: o.prevKv === true }, print, signal),
      );
      if (end.kind === 'compacted') {
        io.stderr.write(`watch was canceled (${end.reason})\n`);
        throw new ApiClientError('watch is canceled by the server', 400, 11, null);
      }
    });

  program
    .command('txn')
    .description('a transaction in etcdctl\'s syntax, read from stdin: compares, blank line, success requests, blank line, failure requests')
    .option('-i, --interactive', 'prompt for each part')
    .action(async (o: { interactive?: boolean }) => {
      const reader = new TxnReader();
      const lines = readline.createInterface({ input: io.stdin ?? process.stdin, terminal: false });
      try {
        if (o.interactive) out(`${TxnReader.PROMPTS[0]}\n`);
        for await (const line of lines) {
          const section = reader.sectionIndex;
          if (reader.line(line)) break;
          if (o.interactive && reader.sectionIndex !== section) out(`\n${TxnReader.PROMPTS[reader.sectionIndex]}\n`);
        }
      } catch (e) {
        if (e instanceof TxnSyntaxError) throw new UsageError(`txn: ${e.message}`);
        throw e;
      } finally {
        lines.close();
      }
      const r = await client().txn(reader.request);
      if (format('simple') === 'json') return json(r);
      out(r.succeeded === true ? 'SUCCESS\n' : 'FAILURE\n');
      for (const resp of (r.responses as Record<string, Record<string, unknown>>[] | undefined) ?? []) {
        out('\n');
        if (resp.response_put) {
          out('OK\n');
          if (resp.response_put.prev_kv) printKvs([keyValueFromJson(resp.response_put.prev_kv as Record<string, unknown>)]);
        } else if (resp.response_delete_range) {
          out(`${resp.response_delete_range.deleted ?? 0}\n`);
          printKvs(((resp.response_delete_range.prev_kvs as unknown[]) ?? []).map((j) => keyValueFromJson(j as Record<string, unknown>)));
        } else if (resp.response_range) {
          printKvs(((resp.response_range.kvs as unknown[]) ?? []).map((j) => keyValueFromJson(j as Record<string, unknown>)));
        }
      }
    });

  const endpoint = program.command('endpoint').description('per-endpoint commands');
  endpoint
    .command('status')
    .description('the state of every endpoint: role, term, leader, commit and applied index')
    .action(async () => {
      const c = client();
      const results = await Promise.all(
        c.endpoints.map(async (ep) => {
          try {
            return { ep, status: await c.statusOf(ep) };
          } catch (e) {
            return { ep, error: (e as Error).message };
          }
        }),
      );
      const ok = results.filter((r): r is { ep: string; status: StatusJson } => 'status' in r);
      const f = format('table');
      if (f === 'json') json(ok.map((r) => ({ endpoint: r.ep, ...r.status })));
      else {
        const headers = ['ENDPOINT', 'NAME', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'REVISION'];
        const rows = ok.map(({ ep, status: s }) => [
          ep,
          String(s.name),
          s.role,
          String(s.term),
          s.leader === null ? '-' : String(s.leader),
          String(s.commitIndex),
          String(s.lastApplied),
          String(s.revision),
        ]);
        out(f === 'table' ? table(headers, rows) : rows.map((r) => r.join(', ') + '\n').join(''));
      }
      for (const r of results) {
        if ('error' in r) io.stderr.write(`Failed to get the status of endpoint ${r.ep} (${r.error})\n`);
      }
      if (ok.length < results.length) throw new SilentFailure();
    });
  endpoint
    .command('health')
    .description('whether each endpoint can serve a linearizable read')
    .action(async () => {
      const c = client();
      const results = await Promise.all(c.endpoints.map((ep) => health(ep)));
      for (const r of results) out(`${r.ep} is ${r.ok ? 'healthy' : 'unhealthy'}: ${r.detail}\n`);
      if (results.some((r) => !r.ok)) throw new SilentFailure();
    });

  const lease = program.command('lease').description('lease commands (IDs in hexadecimal, as etcdctl)');
  lease
    .command('grant')
    .description('grant a lease of TTL seconds (raised to the cluster minimum)')
    .argument('<ttl>', 'seconds')
    .action(async (ttl: string) => {
      const r = await client().leaseGrant(parseCount(ttl, 'TTL'));
      if (format('simple') === 'json') return json(r.raw);
      out(`lease ${hexLease(r.id)} granted with TTL(${r.ttl}s)\n`);
    });
  lease
    .command('revoke')
    .description('revoke a lease and delete its keys')
    .argument('<id>', 'lease ID (hex)')
    .action(async (id: string) => {
      const r = await client().leaseRevoke(parseLease(id, 'lease ID'));
      if (format('simple') === 'json') return json(r.raw);
      out(`lease ${hexLease(parseLease(id, 'lease ID'))} revoked\n`);
    });
  lease
    .command('timetolive')
    .description('remaining and granted TTL of a lease')
    .argument('<id>', 'lease ID (hex)')
    .option('--keys', 'also print the attached keys')
    .action(async (id: string, o: { keys?: boolean }) => {
      const dec = parseLease(id, 'lease ID');
      const r = await client().leaseTimeToLive(dec, { keys: o.keys === true });
      if (format('simple') === 'json') return json(r.raw);
      if (r.ttl === -1) return out(`lease ${hexLease(dec)} already expired\n`);
      const keys = o.keys ? `, attached keys([${r.keys.map((k) => k.toString()).join(' ')}])` : '';
      out(`lease ${hexLease(dec)} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)${keys}\n`);
    });
  lease
    .command('list')
    .description('every lease')
    .action(async () => {
      const r = await client().leaseLeases();
      if (format('simple') === 'json') return json(r.raw);
      out(`found ${r.ids.length} leases\n`);
      for (const id of r.ids) out(`${hexLease(id)}\n`);
    });
  lease
    .command('keep-alive')
    .description('keep a lease alive until interrupted (Ctrl-C), printing each renewal')
    .argument('<id>', 'lease ID (hex)')
    .option('--once', 'renew once and exit')
    .action(async (id: string, o: { once?: boolean }) => {
      const dec = parseLease(id, 'lease ID');
      const c = client();
      const asJson = format('simple') === 'json';
      const print = (r: { ttl: number; raw: Record<string, unknown> }) =>
        asJson ? json(r.raw) : out(`lease ${hexLease(dec)} keepalived with TTL(${r.ttl})\n`);
      if (o.once) {
        try {
          print(await c.leaseKeepAliveOnce(dec));
        } catch (e) {
          if (e instanceof ApiClientError && e.status === 404) return out(`lease ${hexLease(dec)} expired or revoked.\n`);
          throw e;
        }
        return;
      }
      // Runs until interrupted (or the lease is gone), as etcdctl's.
      const outcome = await untilInterrupted(io, (signal) => c.leaseKeepAlive(dec, print, signal));
      if (outcome === 'not-found') out(`lease ${hexLease(dec)} expired or revoked.\n`);
    });

  const member = program.command('member').description('membership commands');
  member
    .command('list')
    .description('the members of the cluster')
    .action(async () => {
      const r = await client().memberList();
      const f = format('table');
      if (f === 'json') return json(r.raw);
      const rows = r.members.map((m) => [m.id, m.name, m.clientUrls.join(',')]);
      out(f === 'table' ? table(['ID', 'NAME', 'CLIENT URLS'], rows) : rows.map((x) => x.join(', ') + '\n').join(''));
    });

  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      io.stderr.write(`Error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof SilentFailure) return 1;
    if (e instanceof ApiClientError) {
      const where = e.status === 0 || e.endpoint === null ? '' : ` (${e.endpoint}, HTTP ${e.status})`;
      io.stderr.write(`Error: ${e.message}${where}\n`);
      return 1;
    }
    io.stderr.write(`Error: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

/** Already reported on stderr; exit 1. */
class SilentFailure extends Error {}

/** Run `task` until it ends or the user interrupts (io.signal, or SIGINT/SIGTERM). */
async function untilInterrupted<T>(io: Io, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    return await task(stop.signal);
  } finally {
    io.signal?.removeEventListener('abort', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}


async function health(ep: string): Promise<{ ep: string; ok: boolean; detail: string }> {
  const started = Date.now();
  try {
    const res = await fetch(`${normalizeEndpoint(ep)}/health`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json().catch(() => ({}))) as { health?: string; reason?: string };
    const took = `took = ${Date.now() - started}ms`;
    if (res.status === 200 && body.health === 'true') return { ep, ok: true, detail: took };
    return { ep, ok: false, detail: body.reason ?? `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return { ep, ok: false, detail: err.cause?.code ?? err.message };
  }
}

function checkRangeFlags(rangeEnd: string | undefined, o: Record<string, unknown>): void {
  const given = [rangeEnd !== undefined, o.prefix === true, o.fromKey === true].filter(Boolean).length;
  if (given > 1) throw new UsageError('use only one of range_end, --prefix, --from-key');
  if (o.keysOnly && o.printValueOnly) throw new UsageError('use only one of --keys-only, --print-value-only');
}

/** Go-style durations: 500ms, 5s, 1.5s, 1m; a bare number is seconds. */
export function parseDuration(s: string, what: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new UsageError(`${what}: not a duration: ${s} (try 500ms, 5s, 1m)`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (n <= 0) throw new UsageError(`${what}: must be positive`);
  return n;
}

function parseCount(s: string, what: string): number {
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new UsageError(`${what}: not a number: ${s}`);
  return Number(s);
}

/** etcdctl takes lease IDs in hexadecimal; the API wants them in decimal. */
function parseLease(s: string, what: string): string {
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(s)) throw new UsageError(`${what}: not a hexadecimal lease ID: ${s}`);
  const n = BigInt(s.toLowerCase().startsWith('0x') ? s : `0x${s}`);
  if (n > 2n ** 63n - 1n) throw new UsageError(`${what}: out of range: ${s}`);
  return n.toString();
}

/** A decimal lease ID as etcdctl prints it: 16 hex digits. */
export function hexLease(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(16, '0');
}

/** An etcdctl-like ASCII table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const row = (cells: string[], center = false) =>
    '|' +
    cells
      .map((c, i) => {
        const pad = widths[i] - c.length;
        const left = center ? Math.floor(pad / 2) : 0;
        return ' ' + ' '.repeat(left) + c + ' '.repeat(pad - left) + ' ';
      })
      .join('|') +
    '|\n';
  return line + row(headers, true) + line + rows.map((r) => row(r)).join('') + line;
}

/** Entry point for bin/raftctl. */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`Error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) run();

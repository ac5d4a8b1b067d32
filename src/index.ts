// The library entry of the package (`require('simpleraft-ts')`): importing it
// starts nothing. It gives the client, the protocol core (Server and the
// Ready it hands its driver), the real-time driver, storage, the transports,
// the messages and their codec, and the key-value state machine. The command
// lines are separate: bin/raftctl, bin/simpleraft-node, `npm start`.

// The client of the HTTP API (etcd v3 JSON gateway shape).
export { RaftClient, ApiClientError, normalizeEndpoint } from './api/client';
export type { ClientOptions, GetOptions, Header, KeyValue, Member, StatusJson } from './api/client';
export { ApiServer } from './api/http-server';

// The protocol core: pure, driven by tick/step/propose, answering with a Ready.
export { Server } from './server/server';
export type { Outgoing, ProposeResult, ReadResult } from './server/server';
export type { Ready, ReadState, SoftState } from './server/ready';
export { NO_BUGS } from './server/config';
export type { Bugs, InitialState, ReadMode, ServerConfig } from './server/config';
export type { StateMachine } from './server/state-machine';
export { describeEvent } from './server/events';
export type { RaftEvent, Role } from './server/events';
export { SeededRng } from './time/rng';
export type { Rng } from './time/rng';

// The driver that runs the core on a real clock, disk and network.
export { RaftNode } from './server/node';
export { EntryTooLargeError } from './api/node-handle';
export type { RaftNodeOptions } from './server/node';

// Storage.
export { MemoryStorage } from './log/storage';
export type { Storage } from './log/storage';
export { FileStorage, StorageFailedError, DataDirMismatchError, StorageCorruptionError } from './log/file-storage';
export type { FileStorageOptions, RecoveryReport } from './log/file-storage';

// Transports.
export type { Transport, PeerAddress } from './transport/transport';
export { ZeroMqTransport } from './transport/zeromq';
export type { ZeroMqTransportOptions, ZeroMqDropReason } from './transport/zeromq';
export { UdpGossipTransport } from './transport/udp-gossip';
export type { UdpGossipOptions, UdpDropReason } from './transport/udp-gossip';
export { MemoryNetwork, MemoryTransport, MemoryBoard } from './transport/memory-board';

// Messages, their wire codec, and the replicated key-value store with leases.
export * from './messages';
export * from './messages/codec';
export * from './kv';

export * from './base';
export * from './append-entries';
export * from './request-vote';
export * from './response';
export * from './client-command';
export * from './read-index';
export * from './install-snapshot';

import { AppendEntriesMessage } from './append-entries';
import { ClientCommandMessage } from './client-command';
import { InstallSnapshotMessage } from './install-snapshot';
import { ReadIndexMessage, ReadIndexResponseMessage } from './read-index';
import { RequestVoteMessage, RequestVoteResponseMessage } from './request-vote';
import { ResponseMessage } from './response';

/** Every message a node may receive, discriminated by `type`. */
export type Message =
  | AppendEntriesMessage
  | RequestVoteMessage
  | RequestVoteResponseMessage
  | ResponseMessage
  | ClientCommandMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | InstallSnapshotMessage;

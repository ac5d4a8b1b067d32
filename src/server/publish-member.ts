// A started member publishes its client URL through the log (see
// member-directory.ts), retrying until the cluster has applied it: at start
// there may be no leader yet, or no quorum. As etcd's publish, it runs in the
// background and gives up only when the node stops.

import { NodeId } from '../messages';
import { publishMemberCommand } from './member-directory';

export interface PublishOptions {
  /** First wait after a failed attempt; doubled up to maxRetryMs. Default 100 ms. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Called once, when the command has been applied on this node. */
  onPublished?: () => void;
  /**
   * Whether this node has applied the URL already. Checked before each retry:
   * a proposal that timed out may still have committed, and proposing again
   * would only add an entry.
   */
  isPublished?: () => boolean;
}

export interface Publisher {
  /** Resolves once published, or once stopped. */
  readonly done: Promise<void>;
  stop(): void;
}

/** Propose publishMember(name, clientUrl) on `node` until it is applied. */
export function publishMember(
  node: { propose(command: unknown): Promise<unknown> },
  name: NodeId,
  clientUrl: string,
  options: PublishOptions = {},
): Publisher {
  const maxRetryMs = options.maxRetryMs ?? 2000;
  let retryMs = options.retryMs ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const done = (async () => {
    while (!stopped) {
      try {
        // The node's bounded propose: NotLeaderError at once without a leader, TimeoutError without a quorum.
        await node.propose(publishMemberCommand(name, clientUrl));
        if (!stopped) options.onPublished?.();
        return;
      } catch {
        await pause(retryMs);
        retryMs = Math.min(maxRetryMs, retryMs * 2);
        if (!stopped && options.isPublished?.()) {
          options.onPublished?.();
          return;
        }
      }
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake();
    },
  };
}

// Waiting on a condition instead of sleeping: poll `cond` every `intervalMs`
// until it holds, and fail with `what` once `timeoutMs` have passed.

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Repeat `action` every `everyMs` until `cond` holds (for transports that may
 * drop a message while a connection is being set up), bounded by `timeoutMs`.
 */
export async function retryUntil(
  action: () => void,
  cond: () => boolean,
  timeoutMs: number,
  what = 'condition',
  everyMs = 25,
): Promise<void> {
  let last = -Infinity;
  await waitFor(
    () => {
      if (cond()) return true;
      if (Date.now() - last >= everyMs) {
        last = Date.now();
        action();
      }
      return cond();
    },
    timeoutMs,
    what,
  );
}

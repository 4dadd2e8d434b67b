/**
 * Waiting between reconnect attempts.
 *
 * @module
 */

/**
 * Exponential backoff with full jitter: a random delay up to
 * `base * 2^attempt`, capped, so many clients that lost the same server do
 * not come back in step.
 */
export function backoffDelay(attempt: number, base = 100, cap = 10_000): number {
  return Math.random() * Math.min(cap, base * 2 ** Math.min(attempt, 20));
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

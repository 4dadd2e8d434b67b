/**
 * The one backoff policy: how long to wait after failures in a row, for
 * reconnects, the worker's fetch loops, ACK and FAIL retries and opening
 * pooled connections alike.
 *
 * @module
 */

/**
 * Waiting after failures in a row: after the n-th, a random time up to
 * `base × 2ⁿ` ms, at most `max` ms. The randomness ("full jitter") keeps
 * many clients that lost the same server from coming back in step.
 *
 * @example
 * ```ts
 * import type { Backoff } from "@faktory-ts/faktory";
 * const patient: Backoff = { base: 500, max: 30_000 };
 * ```
 */
export interface Backoff {
  /** The first wait's upper bound, in ms (default 100). */
  readonly base?: number | undefined;
  /** The longest wait, in ms (default 5 000). */
  readonly max?: number | undefined;
}

/** A {@linkcode Backoff} with both values set. */
export type BackoffPolicy = Required<{ readonly [K in keyof Backoff]: number }>;

/** 100 ms, doubling per failure up to 5 s: a restarted server is used again within seconds. */
export const DEFAULT_BACKOFF: BackoffPolicy = { base: 100, max: 5_000 };

/** The wait after `failures` failures in a row (0 for the first retry), in ms. */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  return Math.random() * Math.min(policy.max, policy.base * 2 ** Math.min(failures, 30));
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

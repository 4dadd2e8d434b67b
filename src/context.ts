/**
 * What a handler gets besides its job: the {@linkcode JobContext}, the same
 * in a `Worker` and in the test doubles of `./testing`, and the application's
 * own values added to it. No connection code: `./testing` uses it.
 *
 * @module
 */

import type { TrackingUpdate } from "./ent/tracking.ts";
import { show, ValidationError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { JobPusher } from "./push.ts";

/**
 * What a handler gets besides its job, plus what the worker's `context`
 * option adds (see {@linkcode WorkerOptions.context}).
 *
 * @example
 * ```ts
 * import { defineJob, type JobContext } from "@faktory-ts/faktory";
 * const Thumbnail = defineJob<[url: string]>("Thumbnail");
 * async function resize(url: string, ctx: JobContext) {
 *   const res = await fetch(url, { signal: ctx.signal });
 *   ctx.logger.info(`status ${res.status}`);
 *   await ctx.jobs.perform(Thumbnail, [url]);
 * }
 * ```
 */
export interface JobContext {
  /**
   * Aborts shortly before the job's reservation ends, or when a stopping
   * worker's shutdown timeout is over. Pass it to whatever the handler awaits.
   */
  readonly signal: AbortSignal;
  /** The worker's logger. */
  readonly logger: Logger;
  /** The worker's id. */
  readonly wid: string;
  /**
   * Pushes follow-up jobs, as a `Producer` would: over the worker's own
   * connections, into its namespace, with its `defaults` and its
   * `pushMiddleware`. Also opens batches (Faktory Enterprise), e.g. the
   * job's own: `ctx.jobs.openBatch(job.batchId, fill)`. Pass it to code
   * written against {@linkcode JobPusher}.
   */
  readonly jobs: JobPusher;
  /**
   * Faktory Enterprise: reports the job's progress for the web UI and
   * `Client.getTracking` (`TRACK SET`; track jobs by pushing them with
   * `tracked: true`). `reserveUntil` extends the job's reservation, and the
   * worker moves its own deadline for the job's `signal` with it. Rejects if
   * the server refuses it (`EnterpriseRequiredError` on the open-source
   * server); the reservation is then unchanged.
   */
  progress(update: JobProgress): Promise<void>;
}

/**
 * Progress a handler reports with {@linkcode JobContext.progress}: a
 * {@linkcode TrackingUpdate} for its own job.
 *
 * @example
 * ```ts
 * import type { JobProgress } from "@faktory-ts/faktory";
 * const halfway: JobProgress = { percent: 50, description: "Resizing" };
 * const longer: JobProgress = { reserveUntil: new Date(Date.now() + 3_600_000) };
 * ```
 */
export type JobProgress = Omit<TrackingUpdate, "jid">;

/** The names a context's own members take: the application's values cannot. */
const RESERVED: readonly string[] = ["signal", "logger", "wid", "jobs", "progress"];

/**
 * `context` with the application's values (what the `context` option
 * returned for this job) added; a value named like a member of
 * {@linkcode JobContext} is refused.
 */
export function extendContext(context: JobContext, values: unknown): JobContext {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new ValidationError(
      `The context option returned ${show(values)}: return an object such as { db }`,
    );
  }
  for (const key of Object.keys(values)) {
    if (RESERVED.includes(key)) {
      throw new ValidationError(
        `The context option returned "${key}", which the job context has already: rename it`,
      );
    }
  }
  return Object.assign(context, values);
}

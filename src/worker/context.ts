/**
 * A running job's context (what its handler gets besides the job) and its
 * reservation: the deadline the worker enforces, which progress reports
 * with `reserveUntil` move.
 *
 * @module
 */

import { extendContext, type JobContext, type JobProgress } from "../context.ts";
import type { Job } from "../job.ts";
import type { Logger } from "../logger.ts";
import type { Pool } from "../pool.ts";
import type { JobPusher } from "../push.ts";

/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The end of a job's reservation, and a timer that fires `margin` ms before
 * it (at least a second from when it is set): the worker aborts and fails
 * the job then, before the server gives up on it.
 */
export class Reservation {
  #end: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `end` in ms since the epoch; `expire` is called when the timer fires. */
  constructor(end: number, readonly margin: number, readonly expire: () => void) {
    this.#end = end;
    this.#arm();
  }

  /** When the server's reservation ends, in ms since the epoch. */
  get end(): number {
    return this.#end;
  }

  /** Moves the end to `until` if that is later (the server never shortens a reservation). */
  extend(until: number): void {
    if (this.#timer === undefined || until <= this.#end) return;
    this.#end = until;
    clearTimeout(this.#timer);
    this.#arm();
  }

  /** Stops the timer: the job settled. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const wait = Math.max(1000, this.#end - this.margin - Date.now());
    // A timer past 2^31-1 ms fires at once: an end weeks away (a later
    // `reserveUntil`) is waited for in steps.
    this.#timer = setTimeout(() => {
      if (wait > MAX_TIMER_MS) return this.#arm();
      this.#timer = undefined;
      this.expire();
    }, Math.min(wait, MAX_TIMER_MS));
  }
}

/** What every job's context of one worker shares. */
export interface ContextParts {
  readonly logger: Logger;
  readonly wid: string;
  /** The worker's pusher, over `pool`. */
  readonly jobs: JobPusher;
  /** The worker's reporting connections, which also carry TRACK SET. */
  readonly pool: Pool;
  /** The `context` option: the application's values for each job. */
  readonly values: ((job: Job) => object) | undefined;
}

/** The context of one job run by a worker. Its members work destructured. */
class WorkerJobContext implements JobContext {
  readonly logger: Logger;
  readonly wid: string;
  readonly jobs: JobPusher;
  readonly #pool: Pool;
  readonly #jid: string;
  readonly #run: { readonly signal: AbortSignal };
  readonly #reservation: Reservation;

  constructor(
    parts: ContextParts,
    jid: string,
    run: { readonly signal: AbortSignal },
    reservation: Reservation,
  ) {
    this.logger = parts.logger;
    this.wid = parts.wid;
    this.jobs = parts.jobs;
    this.#pool = parts.pool;
    this.#jid = jid;
    this.#run = run;
    this.#reservation = reservation;
  }

  /** Made on first use, as most handlers never read it (the run makes it lazily too). */
  get signal(): AbortSignal {
    return this.#run.signal;
  }

  /** A function of its own, so that `{ progress }` works; made only when a handler asks. */
  get progress(): (update: JobProgress) => Promise<void> {
    return async (update) => {
      const jid = this.#jid;
      await this.#pool.use((client) => client.setTracking({ ...update, jid }));
      // The server took it: the reservation ends later, and so does our deadline.
      if (update.reserveUntil !== undefined) {
        this.#reservation.extend(update.reserveUntil.getTime());
      }
    };
  }
}

/**
 * The context for `job`, run as `run` (whose `signal` is made on first
 * use). The `context` option's values are added; if it throws, so does
 * this, and the job fails with its error.
 */
export function jobContext(
  parts: ContextParts,
  job: Job,
  run: { readonly signal: AbortSignal },
  reservation: Reservation,
): JobContext {
  const context = new WorkerJobContext(parts, job.jid, run, reservation);
  return parts.values === undefined ? context : extendContext(context, parts.values(job));
}

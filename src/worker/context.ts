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
 * One timer for all of a worker's reservations, armed for the earliest that
 * may be due. It is not cleared when a job settles: a later job's deadline
 * is later, so the timer stays armed and, when it fires, looks for what is
 * due and arms for the next. A timer set and cleared per job cost ~4 % of a
 * busy worker's CPU on Node.
 */
export class Deadlines {
  readonly #pending = new Set<Reservation>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (ms since the epoch), or Infinity when it is not armed. */
  #at = Infinity;

  /** A job's deadline fires `margin` ms before its reservation ends. */
  constructor(readonly margin: number) {}

  /**
   * Watches a reservation ending at `end` (ms since the epoch): `expire` is
   * called `margin` ms before that, and at least a second from now.
   */
  watch(end: number, expire: () => void): Reservation {
    const reservation = new Reservation(this, end, expire);
    this.#pending.add(reservation);
    this.#armFor(reservation.due);
    return reservation;
  }

  /** When the deadline of a reservation ending at `end` is due: `margin` before, a second from now at the soonest. */
  dueFor(end: number): number {
    return Math.max(Date.now() + 1000, end - this.margin);
  }

  /** Stops watching `reservation`. */
  forget(reservation: Reservation): void {
    this.#pending.delete(reservation);
  }

  /** Clears the timer: the worker has stopped. */
  close(): void {
    clearTimeout(this.#timer);
    this.#at = Infinity;
  }

  #armFor(due: number): void {
    if (due >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = due;
    // A timer past 2^31-1 ms fires at once: a deadline weeks away (a later
    // `reserveUntil`) is waited for in steps.
    this.#timer = setTimeout(
      () => this.#fire(),
      Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS),
    );
  }

  #fire(): void {
    this.#at = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const reservation of this.#pending) {
      if (reservation.due <= now) {
        this.#pending.delete(reservation);
        reservation.expire();
      } else next = Math.min(next, reservation.due);
    }
    this.#armFor(next);
  }
}

/**
 * The end of a job's reservation, and when its deadline is due: `margin` ms
 * before the end (at least a second from when it is set). The worker aborts
 * and fails the job then, before the server gives up on it.
 */
export class Reservation {
  #end: number;
  /** When `expire` is called, in ms since the epoch. */
  due: number;

  constructor(readonly deadlines: Deadlines, end: number, readonly expire: () => void) {
    this.#end = end;
    this.due = deadlines.dueFor(end);
  }

  /** When the server's reservation ends, in ms since the epoch. */
  get end(): number {
    return this.#end;
  }

  /**
   * Moves the end to `until` if that is later (the server never shortens a
   * reservation). The timer, armed for the earlier deadline, finds this one
   * not due yet when it fires, and arms again.
   */
  extend(until: number): void {
    if (until <= this.#end) return;
    this.#end = until;
    this.due = this.deadlines.dueFor(until);
  }

  /** Stops watching: the job settled. */
  clear(): void {
    this.deadlines.forget(this);
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

/**
 * Running a job: the reservation timer that aborts a job before the server
 * gives up on it (see context.ts), the jobs running now, and the hand-over
 * to the reporter.
 *
 * @module
 */

import { JobTimeoutError, WorkerStoppedError } from "../errors.ts";
import type { Handlers } from "../handlers.ts";
import { Job } from "../job.ts";
import type { JobPayload } from "../payload.ts";
import type { Slots } from "../slots.ts";
import type { Carrier } from "./carry.ts";
import { type ContextParts, Deadlines, jobContext } from "./context.ts";
import type { Events } from "./events.ts";
import { REPORT_GRACE_MS, type Reporter } from "./reporter.ts";

/**
 * A job running now, as {@linkcode Worker.running} lists it: for finding
 * the job a stuck worker is busy with.
 *
 * @example
 * ```ts ignore
 * for (const { jid, jobtype, elapsedMs } of worker.running()) {
 *   if (elapsedMs > 60_000) console.warn(`${jobtype} ${jid} has run for a minute`);
 * }
 * ```
 */
export interface RunningJob {
  /** The job's id. */
  readonly jid: string;
  /** Its jobtype. */
  readonly jobtype: string;
  /** The queue it came from (without the namespace). */
  readonly queue: string;
  /** When the worker started it. */
  readonly started: Date;
  /** How long it has run, in ms. */
  readonly elapsedMs: number;
}

/**
 * One job being run or reported, and the outcome decided by whichever comes
 * first, the handler settling or an abort. The AbortController is made only
 * when the handler reads `signal`: most never do, and on Node it is the
 * costliest object of a job.
 */
export class Run {
  /** Resolves once the outcome is decided: then `error` holds it. */
  readonly outcome: Promise<void>;
  /**
   * What the handler threw, or the abort's reason; undefined if it succeeded.
   * Kept here, not resolved through `outcome`: a thrown thenable would be
   * adopted (and its `then` called) instead of reported.
   */
  error: unknown;
  readonly started = Date.now();
  /** Whether an abort, not the handler, decided the outcome. */
  abortedFirst = false;
  #settle!: () => void;
  #decided = false;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(readonly job: Job) {
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The handler settled: `error` is what it threw, or undefined. */
  finish(error: unknown): void {
    if (!this.#decided) {
      this.#decided = true;
      this.error = error;
      this.#settle();
    }
  }

  /** Aborts the signal; if the handler is still running, fails the job with `reason`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    if (!this.#decided) {
      this.abortedFirst = true;
      this.finish(reason);
    }
  }
}

/** What the executor runs jobs with. */
export interface ExecutorParts {
  readonly handlers: Handlers;
  readonly slots: Slots;
  readonly reporter: Reporter;
  readonly events: Events;
  /** What each job's context is made of. */
  readonly context: ContextParts;
  /** How long before its reservation ends a job's signal aborts, in ms. */
  readonly reservationMargin: number;
}

/** Runs fetched jobs, each in a slot, and keeps track of those running. */
export class Executor {
  // A Set, not a map by jid: a job pushed twice may run twice at once.
  readonly #running = new Set<Run>();
  /** Called when the last running job has been reported, if someone waits for it. */
  #onIdle: (() => void) | undefined;
  /** Handlers not settled yet: each holds a slot. */
  #handling = 0;
  readonly #deadlines: Deadlines;

  constructor(readonly parts: ExecutorParts) {
    this.#deadlines = new Deadlines(parts.reservationMargin);
  }

  /**
   * Handlers running now, each holding a slot: also one that ignored its
   * abort signal after its job was failed, until it settles.
   */
  get busy(): number {
    return this.#handling;
  }

  /** Jobs not reported yet: running, or being ACKed or FAILed. */
  get unreported(): number {
    return this.#running.size;
  }

  /** Resolves once no job is running or being reported. */
  idle(): Promise<void> {
    return this.#running.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => (this.#onIdle = resolve));
  }

  /** The jobs running (or being reported) now, longest running first. */
  running(): RunningJob[] {
    const now = Date.now();
    return [...this.#running].sort((a, b) => a.started - b.started).map(({ job, started }) => ({
      jid: job.jid,
      jobtype: job.jobtype,
      queue: job.queue,
      started: new Date(started),
      elapsedMs: now - started,
    }));
  }

  /**
   * The end of a stop: gives running jobs until `stopBy()`, or until `cut`
   * resolves (a forced stop), then aborts their signals and fails those
   * whose handlers are still running. Reports that cannot get through (the
   * server is unreachable) are given up `REPORT_GRACE_MS` after the
   * deadline, so a stop never waits for a reservation to end: the server
   * retries those jobs when it does.
   */
  async drain(stopBy: () => number, cut: Promise<void>, wid: string): Promise<void> {
    const { logger } = this.parts.events;
    if (this.#running.size > 0) {
      logger.info(`Worker ${wid} waits for ${this.#running.size} job(s) to finish`);
      await settlesWithin(Promise.race([this.idle(), cut]), stopBy() - Date.now());
    }
    for (const run of this.#running.values()) {
      run.abort(new WorkerStoppedError(`Worker ${wid} stopped before the job finished`));
    }
    if (!(await settlesWithin(this.idle(), stopBy() + REPORT_GRACE_MS - Date.now()))) {
      logger.warn(
        `Worker ${wid} stops without reporting ${this.#running.size} job(s): ` +
          "the server retries them when their reservations end",
      );
    }
    // Every run was decided (and its deadline forgotten) or aborted above.
    this.#deadlines.close();
  }

  /**
   * Runs one job in the slot its fetcher took and reports it; gives the slot
   * back once the handler has settled. `origin` is the fetcher that brought
   * it, which may carry the report (carry.ts). Never rejects: whatever the
   * handler or its middleware throw or return, the job is ACKed or FAILed.
   */
  async execute(payload: JobPayload, origin: Carrier): Promise<void> {
    const { handlers, slots, reporter, events } = this.parts;
    const job = new Job(payload);
    const run = new Run(job);
    const { started } = run;
    // The reservation, enforced: the signal aborts and the job is failed
    // `reservationMargin` before the server would fail it itself (context.ts).
    const reservation = this.#deadlines.watch(
      started + job.reserveFor * 1000,
      () =>
        run.abort(
          new JobTimeoutError(
            `Job ${job.jid} ran for ${
              Date.now() - started
            } ms, too close to the end of its reservation`,
          ),
        ),
    );
    this.#handling++;
    events.emit("start", job);
    let handling: Promise<unknown>;
    try {
      handling = handlers.run(
        job,
        jobContext(this.parts.context, job, run, reservation),
      );
    } catch (e) {
      handling = Promise.reject(e); // the context option threw
    }
    // Resolves true if the handler succeeded. What it threw goes to `run`
    // (a thrown undefined or null becomes an Error).
    const handled = handling.then(
      () => {
        this.#handling--;
        run.finish(undefined);
        return true;
      },
      (e: unknown) => {
        this.#handling--;
        run.finish(e ?? new Error(String(e)));
        return false;
      },
    );
    this.#running.add(run);
    let slotGiven = false;
    try {
      await run.outcome;
      const error = run.error;
      reservation.clear();
      // A settled handler frees its slot while its report is under way; the
      // report may ride on the fetcher waiting for that slot (carry.ts).
      const carrier = run.abortedFirst ? undefined : origin.available();
      const reporting = reporter.report(job, error, Date.now() - started, reservation.end, carrier);
      if (!run.abortedFirst) {
        slotGiven = true;
        slots.give(carrier?.signal);
      }
      await reporting;
    } finally {
      this.#running.delete(run);
      if (this.#running.size === 0) this.#onIdle?.();
      // A handler that ignored its abort keeps its slot until it settles.
      if (!slotGiven) void handled.then(() => slots.give());
    }
    if (run.abortedFirst && (await handled)) {
      events.logger.warn(`Job ${job.jid} finished after it was failed; it will run again`);
    }
  }
}

/** Resolves true if `promise` settles within `ms`; leaves no timer behind. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), false);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

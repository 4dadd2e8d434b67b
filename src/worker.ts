/**
 * The worker: fetches jobs, runs their handlers with bounded concurrency,
 * reports each outcome, heartbeats, and shuts down without losing a job.
 *
 * @module
 */

import { backoffDelay, sleep } from "./backoff.ts";
import { Client, type ClientOptions, resolveOptions, type WorkerState } from "./client.ts";
import { Pool } from "./pool.ts";
import {
  ConnectionError,
  FaktoryError,
  ProtocolError,
  ServerError,
  ValidationError,
} from "./errors.ts";
import {
  type HandlerRegistry,
  Handlers,
  type JobContext,
  type JobHandler,
  type JobMiddleware,
} from "./handlers.ts";
import { Job, type JobType } from "./job.ts";
import type { Logger } from "./logger.ts";
import { type JobPayload, randomJid } from "./payload.ts";
import { validateQueue, validateWord } from "./protocol/command.ts";
import { detectRuntime } from "./runtime/detect.ts";
import type { Runtime } from "./runtime/types.ts";
import { envSettings } from "./settings.ts";
import { Slots } from "./slots.ts";

/**
 * Events a worker emits, with their arguments.
 *
 * @example
 * ```ts
 * import type { WorkerEvents } from "@faktory-ts/faktory";
 * const onFail = (...[job, error]: WorkerEvents["failure"]) => console.error(job.jid, error);
 * ```
 */
export interface WorkerEvents {
  /** A job is about to run. */
  start: [job: Job];
  /** A job ran and was acknowledged; `ms` is how long it ran. */
  success: [job: Job, ms: number];
  /** A job failed and was reported to the server. */
  failure: [job: Job, error: unknown];
  /** Something went wrong outside a job (a lost connection, a refused ACK). */
  error: [error: Error];
  /** The worker went quiet or started to terminate. */
  state: [state: WorkerState];
}

/**
 * Worker settings. Connection settings are those of {@linkcode ClientOptions}.
 *
 * @example
 * ```ts
 * import type { WorkerOptions } from "@faktory-ts/faktory";
 * const options: WorkerOptions = { queues: ["critical", "default"], concurrency: 20, handleSignals: true };
 * ```
 */
export interface WorkerOptions extends Omit<ClientOptions, "wid"> {
  /**
   * Queues in strict order: each fetch takes from the first non-empty one.
   * Default: `FAKTORY_QUEUE`, else `default`.
   */
  readonly queues?: readonly string[] | undefined;
  /**
   * Weighted order instead: each fetch orders the queues at random, a
   * queue's chance of coming first being proportional to its weight.
   */
  readonly weights?: Readonly<Record<string, number>> | undefined;
  /** Jobs run at once (default 10). */
  readonly concurrency?: number | undefined;
  /**
   * Connections fetching in parallel (default: concurrency, at most 16); up
   * to as many more report ACKs and FAILs, opened as they are needed.
   */
  readonly fetchers?: number | undefined;
  /** Worker id (default `FAKTORY_WORKER_ID`, else random). */
  readonly workerId?: string | undefined;
  /** How long `stop` lets running jobs finish, in ms (default 25 000). */
  readonly shutdownTimeout?: number | undefined;
  /** Time between heartbeats, in ms (default 15 000; the server wants 5-60 s). */
  readonly heartbeatInterval?: number | undefined;
  /** How long before the reservation ends a job's signal aborts, in ms (default 5 000). */
  readonly reservationMargin?: number | undefined;
  /** Quiet on SIGTSTP, stop on SIGTERM and SIGINT (default false). */
  readonly handleSignals?: boolean | undefined;
  /**
   * Whether `stop` closes the connections still waiting in FETCH at once
   * instead of letting each FETCH end (up to 2 s on an idle server). Off by
   * default, and only for tests and other cases where nothing is pushed
   * while the worker stops: a job the server hands out in that moment is
   * neither run nor returned, and stays reserved until its `reserve_for`
   * ends (30 min by default) before it runs again.
   */
  readonly abandonFetchOnStop?: boolean | undefined;
  /** Runs around every job, first one outermost. */
  readonly middleware?: readonly JobMiddleware[] | undefined;
}

/** The worker's lifecycle: states only move forward. */
export type WorkerStatus = "idle" | "running" | "quiet" | "stopping" | "stopped";

/**
 * The job ran past its reservation (less the margin) and was failed so the
 * server retries it; or the worker stopped before it finished.
 *
 * @example
 * ```ts
 * import { JobTimeoutError } from "@faktory-ts/faktory";
 * console.log(new JobTimeoutError("too slow").name); // JobTimeoutError
 * ```
 */
export class JobTimeoutError extends FaktoryError {}

/**
 * The worker stopped while the job was running; the job was failed so the
 * server retries it.
 *
 * @example
 * ```ts
 * import { WorkerStoppedError } from "@faktory-ts/faktory";
 * console.log(new WorkerStoppedError("stopping").name); // WorkerStoppedError
 * ```
 */
export class WorkerStoppedError extends FaktoryError {}

/**
 * One job being run or reported: the handler's context, and the outcome
 * decided by whichever comes first, the handler settling or an abort. The
 * AbortController is made only when the handler reads `signal`: most never
 * do, and on Node it is the costliest object of a job.
 */
class Run implements JobContext {
  readonly outcome: Promise<unknown>;
  /** Whether an abort, not the handler, decided the outcome. */
  abortedFirst = false;
  #settle!: (error: unknown) => void;
  #decided = false;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(readonly logger: Logger, readonly wid: string) {
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The handler settled: `error` is what it threw, or undefined. Returns `error`. */
  finish(error: unknown): unknown {
    if (!this.#decided) {
      this.#decided = true;
      this.#settle(error);
    }
    return error;
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

/** A fetch loop: its connection, and the reports it sends before its next FETCH. */
interface Fetcher {
  /** Aborted on quiet; also names the fetcher to {@linkcode Slots.give}. */
  readonly signal: AbortSignal;
  client: Client | undefined;
  /** Waiting for a slot, with nothing under way on its connection. */
  idle: boolean;
  /** Reports to send (on the pool when given no client). */
  readonly carried: Array<(client: Client | undefined) => void>;
}

/**
 * Fetches and runs jobs.
 *
 * Fetching is decoupled from running: up to `fetchers` connections fetch
 * while a slot is free, so a slot is filled without waiting behind one
 * FETCH, and an idle worker waits in FETCH (2 s each) instead of spinning.
 * A finished job's ACK or FAIL goes ahead of the next FETCH on the
 * connection that fetched it when that one is waiting for the slot, else
 * over up to as many connections of their own, opened as needed (the least
 * busy one each time); heartbeats go over another.
 *
 * A handler that ignores its signal keeps its slot until it settles; its
 * job was already failed when the signal aborted, and its late result is
 * only logged. `stop` does not wait for such handlers and never ends the
 * process: the caller decides when to exit.
 *
 * @example
 * ```ts ignore
 * import { defineJob, Worker } from "@faktory-ts/faktory";
 * const SendEmail = defineJob<[to: string]>("SendEmail");
 * const worker = new Worker({ concurrency: 5, handleSignals: true });
 * worker.register(SendEmail, async (job, { signal }) => {
 *   await sendEmail(job.args[0], { signal });
 * });
 * await worker.run(); // until SIGTERM, SIGINT, or the web UI's "terminate"
 * ```
 */
export class Worker implements AsyncDisposable, HandlerRegistry {
  readonly #options: WorkerOptions;
  readonly #runtime: Runtime;
  readonly #logger: Logger;
  readonly #wid: string;
  readonly #queues: readonly string[];
  readonly #weights: readonly number[] | undefined;
  readonly #concurrency: number;
  readonly #fetchers: number;
  readonly #shutdownTimeout: number;
  readonly #heartbeatInterval: number;
  readonly #margin: number;
  readonly #handlers: Handlers;
  // deno-lint-ignore no-explicit-any
  readonly #listeners = new Map<keyof WorkerEvents, Set<(...args: any[]) => void>>();
  // A Set, not a map by jid: a job pushed twice may run twice at once.
  readonly #running = new Set<Run>();
  /** Called when the last running job has been reported, if `stop` waits for it. */
  #onIdle: (() => void) | undefined;
  readonly #fetching = new AbortController();
  /** One per fetch loop (see #fetcherSignal), aborted with #fetching. */
  readonly #fetcherControllers = new Set<AbortController>();
  #slots: Slots;
  #status: WorkerStatus = "idle";
  // ACK/FAIL connections, up to one per fetcher: one alone caps a worker near 5,000 jobs/s.
  #reporter: Pool | undefined;
  #stopped: Promise<void> | undefined;
  /** Aborts when `stop` is called: `run` winds down. */
  readonly #stopping = new AbortController();
  #stopBy = 0;
  /** Set by `stop` with `abandonFetchOnStop`: fetchers close their connections at once. */
  #abandonFetch = false;
  /** Resolves when `run` has closed everything. */
  #exited!: () => void;
  readonly #exit = new Promise<void>((resolve) => (this.#exited = resolve));

  /**
   * Checks the options (a bad queue name or URL throws `ValidationError`
   * here) but connects only in {@linkcode Worker.run}.
   */
  constructor(options: WorkerOptions = {}) {
    this.#options = options;
    resolveOptions(options);
    this.#runtime = options.runtime ?? detectRuntime();
    this.#logger = options.logger ?? console;
    const env = envSettings((name) => this.#runtime.env(name));
    this.#wid = validateWord(
      options.workerId ?? env.workerId ?? randomJid().slice(0, 16),
      "workerId",
    );
    if (options.weights !== undefined) {
      if (options.queues !== undefined) {
        throw new ValidationError("Give either queues or weights, not both");
      }
      const entries = Object.entries(options.weights);
      if (entries.length === 0) throw new ValidationError("weights needs at least one queue");
      for (const [queue, weight] of entries) {
        validateQueue(queue);
        if (!(weight > 0) || !Number.isFinite(weight)) {
          throw new ValidationError(
            `Invalid weight ${weight} for queue "${queue}": use a positive number`,
          );
        }
      }
      this.#queues = entries.map(([q]) => q);
      this.#weights = entries.map(([, w]) => w);
    } else {
      this.#queues = options.queues ?? [env.queue];
      if (this.#queues.length === 0) throw new ValidationError("queues needs at least one queue");
      for (const q of this.#queues) validateQueue(q);
      this.#weights = undefined;
    }
    this.#concurrency = count(options.concurrency, 10, "concurrency");
    // The server runs each connection's commands one at a time, so a busy
    // worker needs several connections at work: draining no-op jobs
    // (`deno task bench`), 10 fetchers beat 4 by ~12 % at concurrency 10,
    // 16 beat 4 by ~15 % at concurrency 50; more gain little.
    const fetchers = Math.min(this.#concurrency, 16);
    this.#fetchers = count(options.fetchers, fetchers, "fetchers");
    this.#shutdownTimeout = ms(options.shutdownTimeout, 25_000, "shutdownTimeout");
    this.#heartbeatInterval = ms(options.heartbeatInterval, 15_000, "heartbeatInterval");
    this.#margin = ms(options.reservationMargin, 5_000, "reservationMargin");
    this.#handlers = new Handlers(options.middleware);
    this.#slots = new Slots(this.#concurrency);
  }

  /** This worker's id, as the server and its web UI show it. */
  get wid(): string {
    return this.#wid;
  }

  /** Where the worker is in its lifecycle. */
  get status(): WorkerStatus {
    return this.#status;
  }

  /** Jobs running now. */
  get busy(): number {
    return this.#running.size;
  }

  /**
   * Registers the handler for a job type (or a plain jobtype name). With a
   * {@linkcode JobType} the handler's job is typed by its arguments.
   *
   * @example
   * ```ts ignore
   * worker.register(SendEmail, async (job) => send(job.args[0]));
   * worker.register("Cleanup", () => cleanup());
   * ```
   */
  register<Args extends readonly unknown[]>(
    type: JobType<Args> | string,
    handler: JobHandler<Args>,
  ): this {
    this.#handlers.register(type, handler);
    return this;
  }

  /**
   * Adds middleware around every job, inside what was added before.
   *
   * @example
   * ```ts ignore
   * worker.use(async (job, ctx, next) => { ctx.logger.info(job.jid); await next(); });
   * ```
   */
  use(middleware: JobMiddleware): this {
    this.#handlers.use(middleware);
    return this;
  }

  /**
   * Listens to an event; returns a function that stops listening. A listener
   * that throws is logged and does not affect the job.
   *
   * @example
   * ```ts ignore
   * const off = worker.on("failure", (job, error) => metrics.failed(job.jobtype));
   * ```
   */
  on<K extends keyof WorkerEvents>(
    event: K,
    listener: (...args: WorkerEvents[K]) => void,
  ): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, set = new Set());
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * Connects, then fetches and runs jobs until {@linkcode Worker.stop} (or
   * the server's `terminate`, or a signal with `handleSignals`). Resolves
   * once the worker has stopped; rejects if it cannot connect at the start.
   */
  async run(): Promise<void> {
    if (this.#status !== "idle") {
      throw new FaktoryError(`The worker is ${this.#status}; run it only once`);
    }
    this.#status = "running";
    const clientOptions = { ...this.#options, wid: this.#wid };
    let heartbeat: Client;
    try {
      // The heartbeat connection says HELLO first, so the server sends
      // quiet/terminate to it; the others only carry the same wid.
      heartbeat = await Client.connect(clientOptions);
      // One reporting connection to start with: while the worker is not busy,
      // reports ride on the fetchers' connections, and the pool grows (up to
      // one per fetcher) only when they cannot.
      this.#reporter = await Pool.connect(clientOptions, this.#fetchers, 1);
    } catch (e) {
      this.#status = "stopped";
      await this.#reporter?.close();
      this.#exited();
      throw e;
    }
    const unsubscribe = this.#options.handleSignals ? this.#listenToSignals() : () => {};
    this.#logger.info(
      `Worker ${this.#wid} running ${this.#concurrency} at once from ${this.#queues.join(", ")}`,
    );
    const fetchers = Array.from({ length: this.#fetchers }, () => this.#fetchLoop(clientOptions));
    const beating = this.#heartbeatLoop(heartbeat);
    await new Promise<void>((resolve) => {
      if (this.#stopping.signal.aborted) resolve();
      else this.#stopping.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    unsubscribe();
    // A FETCH under way when the worker stopped may still bring a job (within
    // ~2 s): it is ours, so it runs like the others.
    await Promise.all(fetchers);
    await this.#drain();
    await beating;
    await Promise.all([heartbeat.close(), this.#reporter.close()]);
    this.#status = "stopped";
    this.#exited();
    this.#logger.info(`Worker ${this.#wid} stopped`);
  }

  /** Stops fetching; running jobs go on. Idempotent; states only move forward. */
  quiet(): void {
    if (this.#status !== "running" && this.#status !== "idle") return;
    this.#status = "quiet";
    this.#fetching.abort();
    for (const controller of this.#fetcherControllers) controller.abort();
    this.#logger.info(`Worker ${this.#wid} is quiet: no new jobs`);
    this.#emit("state", "quiet");
  }

  /**
   * Stops: no new jobs; running jobs get up to `shutdownTimeout` to finish,
   * then their signals abort and they are failed so the server retries
   * them; connections close and {@linkcode Worker.run} resolves.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  /** Same as {@linkcode Worker.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #shutdown(): Promise<void> {
    if (this.#status === "stopped") return;
    const wasIdle = this.#status === "idle";
    this.#abandonFetch = this.#options.abandonFetchOnStop === true;
    this.quiet();
    this.#status = "stopping";
    this.#stopBy = Date.now() + this.#shutdownTimeout;
    this.#emit("state", "terminate");
    this.#stopping.abort();
    if (wasIdle) {
      this.#status = "stopped";
      this.#exited();
    }
    await this.#exit;
  }

  /**
   * Gives running jobs until the shutdown deadline, then aborts and fails
   * them. Reports that cannot get through (the server is unreachable) are
   * given up `REPORT_GRACE_MS` after the deadline, so `stop` never waits for
   * a reservation to end: the server retries those jobs when it does.
   */
  async #drain(): Promise<void> {
    const reported = () =>
      this.#running.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => (this.#onIdle = resolve));
    if (this.#running.size > 0) {
      this.#logger.info(`Worker ${this.#wid} waits for ${this.#running.size} job(s) to finish`);
      await settlesWithin(reported(), this.#stopBy - Date.now());
    }
    for (const run of this.#running.values()) {
      run.abort(
        new WorkerStoppedError(`Worker ${this.#wid} stopped before the job finished`),
      );
    }
    if (!(await settlesWithin(reported(), this.#stopBy + REPORT_GRACE_MS - Date.now()))) {
      this.#logger.warn(
        `Worker ${this.#wid} stops without reporting ${this.#running.size} job(s): ` +
          "the server retries them when their reservations end",
      );
    }
  }

  /**
   * A signal of its own for a fetch loop, aborted on quiet. Its listeners
   * (quiet, a slot or backoff wait) stay few; one signal shared by up to 16
   * fetchers would collect over ten, and Node warns of a leak past ten.
   */
  #fetcherSignal(): AbortSignal {
    if (this.#fetching.signal.aborted) return this.#fetching.signal;
    const controller = new AbortController();
    this.#fetcherControllers.add(controller);
    return controller.signal;
  }

  async #fetchLoop(options: ClientOptions): Promise<void> {
    const fetcher: Fetcher = {
      signal: this.#fetcherSignal(),
      client: undefined,
      idle: false,
      carried: [],
    };
    const { signal } = fetcher;
    // Quiet closes the client at once: a reconnect (or its backoff wait) ends,
    // while a FETCH already sent still gets its reply (and job) first, unless
    // `stop` abandons it.
    const onQuiet = () =>
      this.#abandonFetch ? fetcher.client?.destroy() : void fetcher.client?.close();
    signal.addEventListener("abort", onQuiet, { once: true });
    let failures = 0;
    while (!signal.aborted) {
      fetcher.idle = true;
      try {
        await this.#slots.take(signal);
      } catch {
        break;
      } finally {
        fetcher.idle = false;
      }
      let job: JobPayload | null = null;
      try {
        const client = fetcher.client ??= await Client.connect({ ...options, signal });
        // Reports handed to this fetcher go out in the same write as the FETCH.
        if (fetcher.carried.length > 0) {
          for (const send of fetcher.carried.splice(0)) send(client);
        }
        job = await client.fetch(this.#order());
        failures = 0;
      } catch (e) {
        this.#slots.give();
        if (signal.aborted) break;
        this.#error(e);
        // A lost connection is retried at once: the client backs off between
        // failed connects itself. Other errors (garbage, no client yet) wait here.
        if (!(e instanceof ConnectionError) || fetcher.client === undefined) {
          await sleep(backoffDelay(failures++, 200, 10_000), signal);
        }
        continue;
      }
      // A job fetched after quiet was already reserved for us: run it.
      if (job === null) this.#slots.give();
      else if (!isJob(job)) {
        this.#slots.give();
        this.#malformed(job);
      } else void this.#execute(job, fetcher);
    }
    for (const send of fetcher.carried.splice(0)) send(undefined);
    signal.removeEventListener("abort", onQuiet);
    await fetcher.client?.close();
  }

  /**
   * A FETCH reply that is not a job cannot run. With a jid it is FAILed, so
   * the server retries it or moves it to the dead set. Without one nothing
   * can name it to the server: it is logged and skipped (a reservation the
   * server made for it expires and the server retries it).
   */
  #malformed(payload: unknown): void {
    const jid = (payload as { jid?: unknown } | null)?.jid;
    const named = typeof jid === "string" && jid !== "";
    const error = new ProtocolError(
      `FETCH returned a malformed job${named ? ` ${jid}` : ""}: ` +
        "a job needs a jid, a jobtype and an args array",
    );
    this.#error(error);
    if (named) this.#reporter!.use((c) => c.fail(jid, error)).catch((e) => this.#error(e));
  }

  /** Queue order for the next FETCH: fixed, or a weighted shuffle. */
  #order(): readonly string[] {
    const weights = this.#weights;
    if (weights === undefined) return this.#queues;
    const queues = [...this.#queues];
    const w = [...weights];
    const order: string[] = [];
    while (queues.length > 0) {
      let pick = Math.random() * w.reduce((a, b) => a + b, 0);
      let i = 0;
      while (i < w.length - 1 && (pick -= w[i]!) >= 0) i++;
      order.push(queues.splice(i, 1)[0]!);
      w.splice(i, 1);
    }
    return order;
  }

  /** Runs one job and reports it; gives its slot back once the handler has settled. */
  async #execute(payload: JobPayload, origin: Fetcher): Promise<void> {
    const job = new Job(payload);
    const run = new Run(this.#logger, this.#wid);
    const limit = Math.max(1000, job.reserveFor * 1000 - this.#margin);
    const timer = setTimeout(() => {
      run.abort(
        new JobTimeoutError(
          `Job ${job.jid} ran for ${limit} ms, too close to its reservation of ${job.reserveFor} s`,
        ),
      );
    }, limit);
    const started = Date.now();
    this.#emit("start", job);
    // What the handler threw, or undefined once it succeeded.
    const handled = this.#handlers.run(job, run).then(
      () => run.finish(undefined),
      (e: unknown) => run.finish(e ?? new Error(String(e))),
    );
    this.#running.add(run);
    let slotGiven = false;
    try {
      const error = await run.outcome;
      clearTimeout(timer);
      // A settled handler frees its slot while its report is under way. If
      // the fetcher that brought the job waits for that slot, its connection
      // is idle: the report goes there, ahead of the fetcher's next FETCH and
      // in the same write, one round trip for both instead of two in a row
      // (a worker draining no-op jobs at concurrency 10 on Node: +8 % jobs/s).
      const carrier = !run.abortedFirst && origin.idle && origin.client !== undefined
        ? origin
        : undefined;
      const reporting = this.#report(job, error, Date.now() - started, carrier);
      if (!run.abortedFirst) {
        slotGiven = true;
        this.#slots.give(carrier?.signal);
      }
      await reporting;
    } finally {
      this.#running.delete(run);
      if (this.#running.size === 0) this.#onIdle?.();
      // A handler that ignored its abort keeps its slot until it settles.
      if (!slotGiven) void handled.then(() => this.#slots.give());
    }
    if (run.abortedFirst && (await handled) === undefined) {
      this.#logger.warn(`Job ${job.jid} finished after it was failed; it will run again`);
    }
  }

  /**
   * ACKs or FAILs. A lost connection is retried (the server takes ACK and
   * FAIL by jid on any connection, also after a restart) until the
   * reservation would have ended: past that the server has failed the job
   * itself and retries it. Once stopping, it gives up `REPORT_GRACE_MS`
   * after the shutdown deadline instead.
   */
  async #report(job: Job, error: unknown, elapsed: number, carrier?: Fetcher): Promise<void> {
    const reservationEnd = Date.now() + job.reserveFor * 1000 - elapsed;
    const call = (c: Client) => error === undefined ? c.ack(job.jid) : c.fail(job.jid, error);
    for (let attempt = 0;; attempt++) {
      try {
        await (attempt === 0 && carrier !== undefined
          ? this.#carry(carrier, call)
          : this.#reporter!.use(call));
        break;
      } catch (e) {
        // A FAIL sent again after its reply was lost finds the job gone: it got through.
        if (attempt > 0 && e instanceof ServerError && /not found/i.test(e.message)) break;
        const deadline = this.#stopBy > 0
          ? Math.min(reservationEnd, this.#stopBy + REPORT_GRACE_MS)
          : reservationEnd;
        // Short: the client itself backs off between failed connects.
        const wait = backoffDelay(attempt, 50, 1_000);
        if (!(e instanceof ConnectionError) || !(Date.now() + wait < deadline)) {
          this.#error(
            new FaktoryError(
              `Could not ${error === undefined ? "ACK" : "FAIL"} job ${job.jid} (${
                (e as Error)?.message ?? e
              }): the server retries it when its reservation ends`,
              { cause: e },
            ),
          );
          return;
        }
        await sleep(wait);
      }
    }
    if (error === undefined) this.#emit("success", job, elapsed);
    else {
      this.#logger.warn(
        `Job ${job.jid} (${job.jobtype}) failed: ${(error as Error)?.message ?? error}`,
      );
      this.#emit("failure", job, error);
    }
  }

  /** Has `fetcher` send `call` on its connection before its next FETCH (or the pool, if it stops). */
  #carry(fetcher: Fetcher, call: (client: Client) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      fetcher.carried.push((client) =>
        (client === undefined ? this.#reporter!.use(call) : call(client)).then(resolve, reject)
      );
    });
  }

  async #heartbeatLoop(heartbeat: Client): Promise<void> {
    let client = heartbeat;
    while (this.#status === "running" || this.#status === "quiet") {
      // Wakes up on quiet (to tell the server at once) and on stop.
      await sleep(
        this.#heartbeatInterval,
        this.#fetching.signal.aborted ? this.#stopping.signal : this.#fetching.signal,
      );
      if (this.#status !== "running" && this.#status !== "quiet") break;
      try {
        const state = await client.beat({
          ...(this.#status === "quiet" ? { state: "quiet" as const } : {}),
          ...(this.#runtime.rssKb() !== undefined ? { rssKb: this.#runtime.rssKb()! } : {}),
        });
        if (state === "quiet") this.quiet();
        else if (state === "terminate") void this.stop();
      } catch (e) {
        this.#error(e);
        if (e instanceof ServerError && /unknown worker/i.test(e.message)) {
          // The server forgot this worker (it was reaped): a fresh HELLO
          // registers it again. Until that works, keep the old client.
          const fresh = await Client.connect({ ...this.#options, wid: this.#wid }).catch((err) => {
            this.#error(err);
            return undefined;
          });
          if (fresh !== undefined) {
            if (client !== heartbeat) await client.close();
            client = fresh;
          }
        }
      }
    }
    if (client !== heartbeat) await client.close();
  }

  #listenToSignals(): () => void {
    const offs = [
      this.#runtime.onSignal("SIGTSTP", () => this.quiet()),
      this.#runtime.onSignal("SIGTERM", () => void this.stop()),
      this.#runtime.onSignal("SIGINT", () => void this.stop()),
    ];
    return () => offs.forEach((off) => off());
  }

  #emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (e) {
        this.#logger.error(`A "${event}" listener threw`, e);
      }
    }
  }

  #error(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.#logger.error(error.message);
    this.#emit("error", error);
  }
}

/**
 * Once stopping, how long after the shutdown deadline reports may still try
 * to get through: the FAILs of the jobs aborted at the deadline need a moment.
 */
const REPORT_GRACE_MS = 5_000;

/** Whether a FETCH reply has what running and reporting a job needs. */
function isJob(payload: unknown): payload is JobPayload {
  const p = payload as Partial<Record<keyof JobPayload, unknown>> | null;
  return typeof p === "object" && p !== null && typeof p.jid === "string" && p.jid !== "" &&
    typeof p.jobtype === "string" && Array.isArray(p.args) &&
    (p.reserve_for === undefined || Number.isFinite(p.reserve_for));
}

/** Resolves true if `promise` settles within `ms`; leaves no timer behind. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((
    resolve,
  ) => (timer = setTimeout(resolve, Math.max(0, ms), false)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function count(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new ValidationError(`Invalid ${name} ${value}: use a whole number from 1 to 10000`);
  }
  return value;
}

function ms(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new ValidationError(`Invalid ${name} ${value}: use a number of milliseconds, 0 or more`);
  }
  return value;
}

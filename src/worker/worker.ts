/**
 * The worker: fetches jobs, runs their handlers with bounded concurrency,
 * reports each outcome, heartbeats, and shuts down without losing a job.
 *
 * Where things are:
 * - this file: the lifecycle (run, quiet, stop), registering handlers, events;
 * - options.ts: the options, their defaults and checks;
 * - hooks.ts: the startup, quiet and shutdown hooks;
 * - fetcher.ts: the fetch loops, the queue order, malformed FETCH replies;
 * - executor.ts: running a job, the jobs running now;
 * - context.ts: a job's context (pushing, progress) and its reservation timer;
 * - reporter.ts: ACK and FAIL, and their retries;
 * - carry.ts: how a report rides ahead of its fetcher's next FETCH;
 * - heartbeat.ts: BEAT, and the server's quiet and terminate.
 *
 * @module
 */

import type { WorkerState } from "../beat.ts";
import { type Client, connectClient, openClient } from "../client.ts";
import { FaktoryError } from "../errors.ts";
import {
  type HandlerRegistry,
  Handlers,
  type JobHandler,
  type JobMiddleware,
} from "../handlers.ts";
import type { JobType } from "../job.ts";
import { Pool } from "../pool.ts";
import { producerOn } from "../producer.ts";
import type { JobPusher } from "../push.ts";
import { Slots } from "../slots.ts";
import { runtimeOf } from "../runtime/default.ts";
import type { Runtime } from "../runtime/types.ts";
import { Events, type WorkerEvents, type WorkerStatus } from "./events.ts";
import { Executor, type RunningJob } from "./executor.ts";
import { Fetcher, queueOrder } from "./fetcher.ts";
import { beat } from "./heartbeat.ts";
import { Hooks } from "./hooks.ts";
import {
  resolveWorkerOptions,
  type StopOptions,
  type WorkerOptions,
  type WorkerSettings,
} from "./options.ts";
import { Reporter } from "./reporter.ts";

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
 * `Ctx` is what the `context` option adds to every handler's context,
 * inferred from it: `new Worker({ context: () => ({ db }) })` gives handlers
 * a typed `ctx.db`.
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
export class Worker<Ctx extends object = object> implements AsyncDisposable, HandlerRegistry<Ctx> {
  readonly #settings: WorkerSettings;
  readonly #handlers: Handlers;
  readonly #events: Events;
  readonly #slots: Slots;
  readonly #hooks: Hooks;
  #executor: Executor | undefined;
  #pusher: JobPusher = notRunning;
  #fetchers: Fetcher[] = [];
  /** Aborted on quiet: no new jobs. */
  readonly #fetching = new AbortController();
  #status: WorkerStatus = "idle";
  #stopped: Promise<void> | undefined;
  /** Aborts when `stop` is called: `run` winds down. */
  readonly #stopping = new AbortController();
  #stopBy = 0;
  /** Resolves when a forced stop cuts the wait for running jobs short. */
  #forced!: () => void;
  readonly #force = new Promise<void>((resolve) => (this.#forced = resolve));
  /** Resolves when `run` has closed everything. */
  #exited!: () => void;
  readonly #exit = new Promise<void>((resolve) => (this.#exited = resolve));

  /**
   * Checks the options (a bad queue name or URL throws `ValidationError`
   * here) but connects only in {@linkcode Worker.run}.
   */
  constructor(options: WorkerOptions<Ctx> = {}) {
    this.#settings = resolveWorkerOptions(options);
    this.#events = new Events(this.#settings.logger);
    this.#handlers = new Handlers(this.#settings.middleware);
    this.#slots = new Slots(this.#settings.concurrency);
    this.#hooks = new Hooks(this.#settings.hooks, this.#events);
  }

  /** This worker's id, as the server and its web UI show it. */
  get wid(): string {
    return this.#settings.wid;
  }

  /** Where the worker is in its lifecycle. */
  get status(): WorkerStatus {
    return this.#status;
  }

  /**
   * Handlers running now, each holding one of the `concurrency` slots. A
   * handler that ignored its abort signal still counts, after its job was
   * failed, until it settles: its slot is not free until then.
   */
  get busy(): number {
    return this.#executor?.busy ?? 0;
  }

  /**
   * The jobs running now (or being reported), longest running first: to
   * see what a stuck worker is busy with. With `handleSignals`, SIGTTIN logs
   * this list.
   *
   * @example
   * ```ts ignore
   * for (const job of worker.running()) console.log(job.jid, job.jobtype, job.elapsedMs);
   * ```
   */
  running(): RunningJob[] {
    return this.#executor?.running() ?? [];
  }

  /**
   * Pushes jobs as a handler's `context.jobs` does: over this worker's
   * connections, with its namespace, `defaults` and `pushMiddleware`. For
   * hooks: it works from the startup hook to the end of the shutdown hook;
   * before and after, its calls reject.
   *
   * @example
   * ```ts ignore
   * const worker = new Worker({ hooks: { startup: (w) => w.jobs.perform(Warmup, []) } });
   * ```
   */
  get jobs(): JobPusher {
    return this.#pusher;
  }

  /**
   * Registers the handler for a job type (or a plain jobtype name). With a
   * {@linkcode JobType} the handler's job is typed by its arguments (its
   * schema's output, which it gets).
   *
   * @example
   * ```ts ignore
   * worker.register(SendEmail, async (job) => send(job.args[0]));
   * worker.register("Cleanup", () => cleanup());
   * ```
   */
  register<Parsed extends readonly unknown[]>(
    type: JobType<readonly unknown[], Parsed> | string,
    handler: JobHandler<Parsed, Ctx>,
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
  use(middleware: JobMiddleware<Ctx>): this {
    this.#handlers.use(middleware);
    return this;
  }

  /**
   * Listens to an event; returns a function that stops listening. A listener
   * that throws (or returns a promise that rejects) is logged and does not
   * affect the job.
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
    return this.#events.on(event, listener);
  }

  /**
   * Connects, runs the startup hook, then fetches and runs jobs until
   * {@linkcode Worker.stop} (or the server's `terminate`, or a signal with
   * `handleSignals`). Resolves once the worker has stopped; rejects if it
   * cannot connect at the start or the startup hook throws. A stop while it
   * connects ends the connects at once, and it resolves.
   */
  async run(): Promise<void> {
    if (this.#status !== "idle") {
      throw new FaktoryError(`The worker is ${this.#status}; run it only once`);
    }
    this.#status = "running";
    const s = this.#settings;
    let heartbeat: Client;
    let pool: Pool;
    let unsubscribe = () => {};
    let runtime: Runtime;
    const opened: (Client | Pool)[] = [];
    // The first connects end at once on stop, or on the caller's signal.
    const stopping = this.#stopping.signal;
    const signal = s.signal === undefined ? stopping : AbortSignal.any([s.signal, stopping]);
    let starting = false;
    try {
      runtime = await runtimeOf(s.client.runtime);
      // The heartbeat connection says HELLO first: the server keeps the
      // worker's entry (its wid) with the first connection that named it,
      // and the heartbeat's lives longest; the others only carry the wid.
      opened.push(heartbeat = await openClient(s.client, signal));
      // The reporting pool connects at its first call, or once the first
      // fetcher has (below): while the worker is not busy, reports ride on
      // the fetchers' connections, and the pool grows (up to one per
      // fetcher) only when they cannot. Pushes from handlers share it.
      opened.push(pool = await Pool.connect(s.client, s.fetchers, 0, signal));
      unsubscribe = s.handleSignals ? this.#listenToSignals(runtime) : () => {};
      this.#pusher = producerOn(pool, s.defaults, s.pushMiddleware);
      starting = true;
      await this.#hooks.startup(this);
    } catch (e) {
      // Nothing was fetched: the worker stops, and what was opened closes.
      unsubscribe();
      this.#pusher = notRunning;
      this.#status = "stopped";
      await Promise.all(opened.map((c) => c.close()));
      this.#exited();
      // Stopped while connecting: that is no failure to connect. A startup
      // hook that failed is one, stopped or not.
      if (stopping.aborted && !starting) return;
      throw e;
    }
    const events = this.#events;
    const reporter = new Reporter(pool, events, () => this.#stopBy);
    const executor = new Executor({
      handlers: this.#handlers,
      slots: this.#slots,
      reporter,
      events,
      context: { logger: s.logger, wid: s.wid, jobs: this.#pusher, pool, values: s.context },
      reservationMargin: s.reservationMargin,
    });
    this.#executor = executor;
    s.logger.info(
      `Worker ${s.wid} running ${s.concurrency} at once from ${s.queues.join(", ")}`,
    );
    const parts = {
      client: s.client,
      slots: this.#slots,
      executor,
      reporter,
      events,
      order: queueOrder(s.queues, s.weights),
    };
    // The first fetcher connects first, and the others once it has: with a
    // password the first job runs after one handshake, not behind all of
    // them. With a password each also waits for the one before it, so that
    // no connect waits for a hashing slot behind dozens of others, its
    // `connectTimeout` running (50 fetchers on Node hash for ~15 s).
    const first = new Fetcher(parts, this.#fetching.signal.aborted);
    this.#fetchers = [first];
    for (let i = 1; i < s.fetchers; i++) {
      const after = s.client.password === undefined ? first.opened : this.#fetchers[i - 1]!.opened;
      this.#fetchers.push(new Fetcher(parts, this.#fetching.signal.aborted, after));
    }
    // Then the pool too, for the first reports; a failure is reported, and
    // its next call connects again. Not ended by a stop: the shutdown hook
    // may push over it; closing the pool ends it.
    void first.opened.then(() => pool.use((c) => connectClient(c))).catch((e) => {
      if (!stopping.aborted) events.error(e);
    });
    const fetching = this.#fetchers.map((f) => f.run());
    const beating = beat(heartbeat, {
      client: s.client,
      runtime,
      events,
      interval: s.heartbeatInterval,
      status: () => this.#status,
      // Wakes up on quiet (to tell the server at once) and on stop.
      wakeUp: () => this.#fetching.signal.aborted ? this.#stopping.signal : this.#fetching.signal,
      obey: (state: WorkerState) => state === "quiet" ? this.quiet() : void this.stop(),
    });
    await new Promise<void>((resolve) => {
      if (this.#stopping.signal.aborted) resolve();
      else this.#stopping.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    // A FETCH under way when the worker stopped may still bring a job (within
    // ~2 s): it is ours, so it runs like the others.
    await Promise.all(fetching);
    await executor.drain(() => this.#stopBy, this.#force, s.wid);
    // Signals force the stop until here; from now on they do what they would.
    unsubscribe();
    await beating;
    await this.#hooks.run("shutdown", this); // after the quiet hook
    this.#pusher = notRunning;
    await Promise.all([heartbeat.close(), reporter.close()]);
    this.#status = "stopped";
    this.#exited();
    s.logger.info(`Worker ${s.wid} stopped`);
  }

  /**
   * Stops fetching; running jobs go on; the quiet hook runs. Idempotent;
   * states only move forward.
   */
  quiet(): void {
    if (this.#status !== "running" && this.#status !== "idle") return;
    if (this.#status === "running") void this.#hooks.run("quiet", this);
    this.#status = "quiet";
    this.#fetching.abort();
    for (const fetcher of this.#fetchers) fetcher.quiet();
    this.#settings.logger.info(`Worker ${this.wid} is quiet: no new jobs`);
    this.#events.emit("state", "quiet");
  }

  /**
   * Stops: no new jobs (the quiet hook runs); running jobs get up to
   * `shutdownTimeout` to finish, then their signals abort and they are
   * failed so the server retries them; the shutdown hook runs; connections
   * close and {@linkcode Worker.run} resolves. With `force`, running jobs
   * are failed at once (see {@linkcode StopOptions}), even when a stop is
   * already under way.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopped ??= this.#shutdown();
    if (options.force && this.#status === "stopping") {
      this.#stopBy = Math.min(this.#stopBy, Date.now());
      for (const fetcher of this.#fetchers) fetcher.abandon();
      this.#forced();
    }
    return this.#stopped;
  }

  /** Same as {@linkcode Worker.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #shutdown(): Promise<void> {
    if (this.#status === "stopped") return;
    const wasIdle = this.#status === "idle";
    this.quiet();
    if (this.#settings.abandonFetchOnStop) {
      for (const fetcher of this.#fetchers) {
        fetcher.abandon();
      }
    }
    this.#status = "stopping";
    this.#stopBy = Date.now() + this.#settings.shutdownTimeout;
    this.#events.emit("state", "terminate");
    this.#stopping.abort();
    if (wasIdle) {
      this.#status = "stopped";
      this.#exited();
    }
    await this.#exit;
  }

  #listenToSignals(runtime: Runtime): () => void {
    const offs = [
      runtime.onSignal("SIGTSTP", () => this.quiet()),
      runtime.onSignal("SIGTERM", () => void this.stop()),
      // SIGINT while stopping (Ctrl-C twice) stops at once.
      runtime.onSignal("SIGINT", () => void this.stop({ force: this.#status === "stopping" })),
      runtime.onSignal("SIGTTIN", () => this.#logRunning()),
    ];
    return () => offs.forEach((off) => off());
  }

  /** What SIGTTIN does, as in Go's and Ruby's workers: lists the jobs running now. */
  #logRunning(): void {
    const running = this.running();
    this.#settings.logger.warn(
      [
        `Worker ${this.wid} (${this.#status}) is running ${running.length} job(s)`,
        ...running.map((j) =>
          `  ${j.jid} ${j.jobtype} from ${j.queue}, started ${j.started.toISOString()}, running for ${j.elapsedMs} ms`
        ),
      ].join("\n"),
    );
  }
}

const stopped = () =>
  Promise.reject(
    new FaktoryError(
      "The worker is not running: it pushes only from its startup hook to the end of its shutdown hook",
    ),
  );

/** The worker's pusher before it runs and after it stopped. */
const notRunning: JobPusher = {
  perform: stopped,
  performBulk: stopped,
  performMany: stopped,
  batch: stopped,
  openBatch: stopped,
};

/**
 * A worker's options: what they mean, their defaults, and their checks.
 *
 * @module
 */

import { type ClientConfig, type ClientOptions, resolveClientOptions } from "../client_options.ts";
import { ValidationError } from "../errors.ts";
import type { JobMiddleware } from "../handlers.ts";
import { type Job, type JobOptions, mergeOptions } from "../job.ts";
import type { Logger } from "../logger.ts";
import { randomJid } from "../payload.ts";
import type { PushMiddleware } from "../push.ts";
import { checkOptions, WORKER_OPTIONS } from "../rules.ts";
import { envOf } from "../runtime/default.ts";
import { envQueue, envWorkerId } from "../settings.ts";
import type { WorkerHooks } from "./hooks.ts";

/**
 * How {@linkcode Worker.stop} stops.
 *
 * @example
 * ```ts ignore
 * await worker.stop({ force: true }); // no waiting for running jobs: they are retried
 * ```
 */
export interface StopOptions {
  /**
   * Stop at once, without `shutdownTimeout`: running jobs' signals abort now
   * and they are FAILed (`WorkerStoppedError`) so the server retries them,
   * and FETCHes under way are cut off (a job the server hands out in that
   * moment stays reserved until its `reserve_for` ends, then runs). Also
   * cuts a `stop()` under way short, as a second Ctrl-C would.
   */
  readonly force?: boolean | undefined;
}

/**
 * Worker settings. Connection settings are those of {@linkcode ClientOptions}.
 * Each option's type and range are in the rules table (src/rules.ts); a wrong
 * value is a `ValidationError` from the constructor.
 *
 * `Ctx` is what the `context` option adds to every handler's context.
 *
 * @example
 * ```ts
 * import type { WorkerOptions } from "@faktory-ts/faktory";
 * const options: WorkerOptions = { queues: ["critical", "default"], concurrency: 20, handleSignals: true };
 * ```
 */
export interface WorkerOptions<Ctx extends object = object> extends ClientOptions {
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
   * Connections fetching in parallel (default: concurrency, at most 50); up
   * to as many more report ACKs and FAILs, opened as they are needed.
   */
  readonly fetchers?: number | undefined;
  /** The worker's id, as the web UI shows it (default `FAKTORY_WORKER_ID`, else random). */
  readonly wid?: string | undefined;
  /**
   * The worker's id, by its old name.
   *
   * @deprecated Use `wid`, the name the server, `Worker.wid` and `JobContext.wid` use.
   */
  readonly workerId?: string | undefined;
  /** How long `stop` lets running jobs finish, in ms (default 25 000). */
  readonly shutdownTimeout?: number | undefined;
  /** Time between heartbeats, in ms (default 15 000; 100 to 60 000; the server wants 5-60 s). */
  readonly heartbeatInterval?: number | undefined;
  /** How long before the reservation ends a job's signal aborts, in ms (default 5 000, at most a day). */
  readonly reservationMargin?: number | undefined;
  /**
   * Quiet on SIGTSTP, stop on SIGTERM and SIGINT, and log the running jobs
   * on SIGTTIN (default false). Where the runtime has the signal: not on Windows.
   */
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
  /** Job middleware: runs around every job, first one outermost. */
  readonly middleware?: readonly JobMiddleware<NoInfer<Ctx>>[] | undefined;
  /**
   * The application's values for handlers (a database, clients, config),
   * added to each job's context; their type is inferred from what the
   * function returns, and handlers see them typed. Called for each job,
   * before the middleware: return things made once (a pool, a client), or
   * cheap per-job ones (a child logger). A name the context has already
   * (`signal`, `logger`, `wid`, `jobs`, `progress`) is refused. If it throws,
   * the job fails with its error.
   *
   * @example
   * ```ts ignore
   * const worker = new Worker({ context: () => ({ db, mailer }) });
   * worker.register(SendEmail, (job, { db, mailer }) => mailer.send(db.user(job.args[0])));
   * ```
   */
  readonly context?: ((job: Job) => Ctx) | undefined;
  /** Lifecycle hooks: startup, quiet and shutdown (see {@linkcode WorkerHooks}). */
  readonly hooks?: WorkerHooks | undefined;
  /**
   * Options applied to every job pushed from a handler (`context.jobs`) or a
   * hook (`worker.jobs`), before its own, as `ProducerOptions.defaults`
   * (default queue: `FAKTORY_QUEUE`).
   */
  readonly defaults?: JobOptions | undefined;
  /** Push middleware: runs around every push from a handler or hook, first one outermost. */
  readonly pushMiddleware?: readonly PushMiddleware[] | undefined;
}

/** A worker's options, checked, with every default filled in. */
export interface WorkerSettings {
  /** What its connections are opened with: resolved once, with the worker id. */
  readonly client: ClientConfig;
  /** Aborts the first connects. */
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger;
  readonly wid: string;
  readonly queues: readonly string[];
  /** One weight per queue, or none for strict order. */
  readonly weights: readonly number[] | undefined;
  readonly concurrency: number;
  readonly fetchers: number;
  readonly shutdownTimeout: number;
  readonly heartbeatInterval: number;
  readonly reservationMargin: number;
  readonly handleSignals: boolean;
  readonly abandonFetchOnStop: boolean;
  // deno-lint-ignore no-explicit-any
  readonly middleware: readonly JobMiddleware<any>[] | undefined;
  readonly context: ((job: Job) => object) | undefined;
  readonly hooks: WorkerHooks | undefined;
  /** Composed with the environment's default queue. */
  readonly defaults: JobOptions;
  readonly pushMiddleware: readonly PushMiddleware[];
}

/** Checks every option (a bad one throws `ValidationError`) and fills in the defaults. */
export function resolveWorkerOptions<Ctx extends object>(
  options: WorkerOptions<Ctx>,
): WorkerSettings {
  checkOptions(WORKER_OPTIONS, options, "worker options");
  if (options.wid !== undefined && options.workerId !== undefined) {
    throw new ValidationError("Give wid or workerId (its old name), not both");
  }
  if (options.weights !== undefined && options.queues !== undefined) {
    throw new ValidationError("Give either queues or weights, not both");
  }
  const env = envOf(options.runtime);
  const wid = options.wid ?? options.workerId ?? envWorkerId(env) ?? randomJid().slice(0, 16);
  const client = resolveClientOptions({ ...options, wid }, null);
  const weighted = options.weights === undefined ? undefined : Object.entries(options.weights);
  const queues = weighted?.map(([q]) => q) ?? [...(options.queues ?? [envQueue(env)])];
  const concurrency = options.concurrency ?? 10;
  return {
    client,
    signal: options.signal,
    logger: client.logger,
    wid,
    queues,
    weights: weighted?.map(([, w]) => w),
    concurrency,
    // The server runs each connection's commands one at a time, so a busy
    // worker needs several connections at work: draining no-op jobs
    // (`deno task bench`), 10 fetchers beat 4 by ~12 % at concurrency 10.
    // One per slot lets every ACK ride on its slot's next FETCH (carry.ts):
    // at concurrency 50, 50 fetchers beat 16 by 5-15 % with ~13 % less CPU.
    fetchers: options.fetchers ?? Math.min(concurrency, 50),
    shutdownTimeout: options.shutdownTimeout ?? 25_000,
    heartbeatInterval: options.heartbeatInterval ?? 15_000,
    reservationMargin: options.reservationMargin ?? 5_000,
    handleSignals: options.handleSignals ?? false,
    abandonFetchOnStop: options.abandonFetchOnStop ?? false,
    middleware: options.middleware,
    context: options.context,
    hooks: options.hooks,
    defaults: mergeOptions({ queue: envQueue(env) }, options.defaults),
    pushMiddleware: [...(options.pushMiddleware ?? [])],
  };
}

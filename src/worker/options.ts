/**
 * A worker's options: what they mean, their defaults, and their checks.
 *
 * @module
 */

import { type ClientConfig, type ClientOptions, resolveClientOptions } from "../client_options.ts";
import { ValidationError } from "../errors.ts";
import type { JobMiddleware } from "../handlers.ts";
import type { Logger } from "../logger.ts";
import { randomJid } from "../payload.ts";
import { validateQueue, validateWord } from "../protocol/command.ts";
import { detectRuntime } from "../runtime/detect.ts";
import type { Runtime } from "../runtime/types.ts";
import { envQueue, envWorkerId } from "../settings.ts";

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
  /** Runs around every job, first one outermost. */
  readonly middleware?: readonly JobMiddleware[] | undefined;
}

/** A worker's options, checked, with every default filled in. */
export interface WorkerSettings {
  /** What its connections are opened with: resolved once, with the worker id. */
  readonly client: ClientConfig;
  /** Aborts the first connects. */
  readonly signal: AbortSignal | undefined;
  readonly runtime: Runtime;
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
  readonly middleware: readonly JobMiddleware[] | undefined;
}

/** Checks every option (a bad one throws `ValidationError`) and fills in the defaults. */
export function resolveWorkerOptions(options: WorkerOptions): WorkerSettings {
  const runtime = options.runtime ?? detectRuntime();
  const env = (name: string) => runtime.env(name);
  const wid = validateWord(
    options.workerId ?? envWorkerId(env) ?? randomJid().slice(0, 16),
    "workerId",
  );
  const client = resolveClientOptions({ ...options, runtime, wid });
  let queues: readonly string[];
  let weights: readonly number[] | undefined;
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
    queues = entries.map(([q]) => q);
    weights = entries.map(([, w]) => w);
  } else {
    queues = options.queues ?? [envQueue(env)];
    if (queues.length === 0) throw new ValidationError("queues needs at least one queue");
    for (const q of queues) validateQueue(q);
    weights = undefined;
  }
  const concurrency = count(options.concurrency, 10, "concurrency");
  // The server runs each connection's commands one at a time, so a busy
  // worker needs several connections at work: draining no-op jobs
  // (`deno task bench`), 10 fetchers beat 4 by ~12 % at concurrency 10,
  // 16 beat 4 by ~15 % at concurrency 50; more gain little.
  const fetchers = count(options.fetchers, Math.min(concurrency, 16), "fetchers");
  return {
    client,
    signal: options.signal,
    runtime: client.runtime,
    logger: client.logger,
    wid,
    queues,
    weights,
    concurrency,
    fetchers,
    shutdownTimeout: ms(options.shutdownTimeout, 25_000, "shutdownTimeout"),
    heartbeatInterval: ms(options.heartbeatInterval, 15_000, "heartbeatInterval"),
    reservationMargin: ms(options.reservationMargin, 5_000, "reservationMargin"),
    handleSignals: options.handleSignals ?? false,
    middleware: options.middleware,
  };
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

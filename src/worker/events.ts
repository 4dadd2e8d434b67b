/**
 * What a worker tells its application: its lifecycle status and its events.
 *
 * @module
 */

import type { WorkerState } from "../beat.ts";
import { show, ValidationError } from "../errors.ts";
import { describeFailure } from "../failure.ts";
import type { Job } from "../job.ts";
import type { Logger } from "../logger.ts";
import { callUntrusted } from "../untrusted.ts";

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
 * The worker's lifecycle: states only move forward.
 *
 * @example
 * ```ts
 * import type { WorkerStatus } from "@faktory-ts/faktory";
 * const fetching = (status: WorkerStatus) => status === "running";
 * ```
 */
export type WorkerStatus = "idle" | "running" | "quiet" | "stopping" | "stopped";

const EVENTS: readonly (keyof WorkerEvents)[] = ["start", "success", "failure", "error", "state"];

/**
 * The listeners of one worker. A listener is user code: one that throws (or
 * returns a promise that rejects) is logged and does not affect the job.
 */
export class Events {
  // deno-lint-ignore no-explicit-any
  readonly #listeners = new Map<keyof WorkerEvents, Set<(...args: any[]) => void>>();

  constructor(readonly logger: Logger) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof WorkerEvents>(
    event: K,
    listener: (...args: WorkerEvents[K]) => void,
  ): () => void {
    if (!EVENTS.includes(event)) {
      throw new ValidationError(
        `Invalid event ${show(event)}: use ${EVENTS.map((e) => `"${e}"`).join(", ")}`,
      );
    }
    if (typeof listener !== "function") {
      throw new ValidationError(`The listener for "${event}" is not a function`);
    }
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, set = new Set());
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      callUntrusted(
        () => listener(...args),
        (e) => this.logger.error(`A "${event}" listener threw: ${describeFailure(e).message}`, e),
      );
    }
  }

  /**
   * Logs a failure outside a job and emits it as an `error` event. It may
   * come from user code (a custom runtime adapter): anything is turned into
   * an Error.
   */
  error(e: unknown): void {
    const { message } = describeFailure(e);
    let error: Error;
    try {
      error = e instanceof Error ? e : new Error(message);
    } catch { // a Proxy's getPrototypeOf trap threw
      error = new Error(message);
    }
    this.logger.error(message);
    this.emit("error", error);
  }
}

/**
 * Lifecycle hooks: the application's code run when the worker starts, goes
 * quiet and shuts down, one hook at a time, in that order.
 *
 * @module
 */

import { FaktoryError } from "../errors.ts";
import type { Events } from "./events.ts";
import type { Worker } from "./worker.ts";

/**
 * Code run at points of a worker's life: open what handlers need before the
 * first job, close it after the last. Hooks run one at a time, in the order
 * startup, quiet, shutdown; each gets the worker (`worker.jobs` pushes).
 *
 * @example
 * ```ts ignore
 * const worker = new Worker({
 *   context: () => ({ db }),
 *   hooks: {
 *     startup: () => db.connect(), // if it throws, run() rejects and nothing is fetched
 *     quiet: (w) => w.jobs.perform(Notify, ["worker going quiet"]),
 *     shutdown: () => db.close(), // after the last job, before the connections close
 *   },
 * });
 * ```
 */
export interface WorkerHooks {
  /**
   * Runs once `run()` has connected, before the first FETCH. If it throws,
   * `run()` rejects with its error: nothing is fetched, and the connections
   * close (the quiet and shutdown hooks do not run).
   */
  startup?(worker: Worker): void | PromiseLike<unknown>;
  /**
   * Runs when the worker goes quiet (stops fetching): by `quiet()`, by the
   * server (the web UI), by SIGTSTP, or on the way to stopping. Running
   * jobs go on meanwhile. An error is logged and emitted as an `error` event.
   */
  quiet?(worker: Worker): void | PromiseLike<unknown>;
  /**
   * Runs once the running jobs have settled and been reported, before the
   * connections close, so it can still push. `stop()` and `run()` resolve
   * after it. An error is logged and emitted as an `error` event.
   */
  shutdown?(worker: Worker): void | PromiseLike<unknown>;
}

/** A worker's hooks, run one after another in the order they are due. */
export class Hooks {
  #last: Promise<void> = Promise.resolve();
  /** Set when the startup hook threw: no other hook runs then. */
  #failed = false;

  constructor(readonly hooks: WorkerHooks | undefined, readonly events: Events) {}

  /** Runs the startup hook; rejects with its error. */
  startup(worker: Worker): Promise<void> {
    const hook = this.hooks?.startup;
    if (hook === undefined) return Promise.resolve();
    const run = this.#last.then(async () => {
      await hook.call(this.hooks, worker);
    });
    this.#last = run.catch(() => void (this.#failed = true));
    return run;
  }

  /** Runs the quiet or shutdown hook after those before it; never rejects. */
  run(name: "quiet" | "shutdown", worker: Worker): Promise<void> {
    const hook = this.hooks?.[name];
    if (hook === undefined) return this.#last;
    this.#last = this.#last
      .then(async () => {
        if (!this.#failed) await hook.call(this.hooks, worker);
      })
      .catch((cause) =>
        this.events.error(
          new FaktoryError(`The ${name} hook failed: ${(cause as Error)?.message ?? cause}`, {
            cause,
          }),
        )
      );
    return this.#last;
  }
}

/**
 * The producer: push-only, shared by many concurrent callers over a small
 * pool of connections.
 *
 * @module
 */

import { type ClientOptions, resolveClientOptions } from "./client_options.ts";
import { Pool } from "./pool.ts";
import { BulkPushError, ValidationError } from "./errors.ts";
import { PRODUCER_OPTIONS } from "./rules.ts";
import { type JobOptions, mergeOptions } from "./job.ts";
import type { JobPayload } from "./payload.ts";
import {
  buildJob,
  composeOptions,
  type JobPusher,
  type PerformOptions,
  type PushMiddleware,
  throughMiddleware,
} from "./push.ts";
import { envOf } from "./runtime/default.ts";
import { envPoolSize, envQueue } from "./settings.ts";

/**
 * Options of a {@linkcode Producer}.
 *
 * @example
 * ```ts
 * import type { ProducerOptions } from "@faktory-ts/faktory";
 * const options: ProducerOptions = { url: "tcp://localhost:7419", poolSize: 4, defaults: { retry: 5 } };
 * ```
 */
export interface ProducerOptions extends ClientOptions {
  /** Connections in the pool (default `FAKTORY_POOL_SIZE`, else 4). */
  readonly poolSize?: number | undefined;
  /** Options applied to every job before its own (default queue: `FAKTORY_QUEUE`). */
  readonly defaults?: JobOptions | undefined;
  /** Runs around each push, first one outermost. */
  readonly middleware?: readonly PushMiddleware[] | undefined;
}

/**
 * Pushes jobs. Safe to share: concurrent calls spread over a pool of
 * connections, each pipelined. Close it with `await using` or `close()`.
 *
 * @example
 * ```ts ignore
 * import { defineJob, Producer } from "@faktory-ts/faktory";
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 * await using producer = await Producer.connect();
 * const jid = await producer.perform(SendEmail, ["ada@example.com"]);
 * await producer.perform([SendEmail, { in: 3600 }], ["grace@example.com"]);
 * ```
 */
export class Producer implements AsyncDisposable, JobPusher {
  readonly #pool: Pool;
  readonly #defaults: JobOptions;
  readonly #middleware: readonly PushMiddleware[];

  private constructor(pool: Pool, defaults: JobOptions, middleware: readonly PushMiddleware[]) {
    this.#pool = pool;
    this.#defaults = defaults;
    this.#middleware = middleware;
  }

  /** Opens the pool's connections (in parallel) and resolves once all said HELLO. */
  static async connect(options: ProducerOptions | string = {}): Promise<Producer> {
    const o: ProducerOptions = typeof options === "string" ? { url: options } : options;
    const config = resolveClientOptions(o, PRODUCER_OPTIONS); // checks every option first
    const env = envOf(config.runtime);
    const size = o.poolSize ?? envPoolSize(env) ?? 4;
    return new Producer(
      await Pool.connect(config, size, size, o.signal),
      mergeOptions({ queue: envQueue(env) }, o.defaults),
      [...(o.middleware ?? [])],
    );
  }

  /**
   * Pushes one job and resolves with its jid. `options` is a job type, plain
   * options, or a list of them composed left to right; the arguments are
   * checked against the job type's argument types at compile time, and
   * against its schema, if it has one, before anything is sent.
   *
   * @example
   * ```ts ignore
   * await producer.perform({ jobtype: "Cleanup", queue: "low" }, []);
   * ```
   */
  async perform<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    args: NoInfer<Args>,
  ): Promise<string> {
    const job = await buildJob(composeOptions(this.#defaults, options), args);
    await this.#pool.use((client) =>
      throughMiddleware(this.#middleware, job, () => client.push(job).then(() => {}))
    );
    return job.jid;
  }

  /**
   * Pushes many jobs of one kind (one argument list each) and resolves with
   * their jids in order. Every job is checked (its schema too) and passes the
   * middleware before the first is sent (a bad one is a `ValidationError`
   * and nothing is pushed); they go in batches of up to 1000. Throws
   * {@linkcode BulkPushError} if the server refused some, or the connection
   * failed part way: it says which jobs were pushed and which were not.
   *
   * @example
   * ```ts ignore
   * const jids = await producer.performBulk(SendEmail, [["a@example.com"], ["b@example.com"]]);
   * ```
   */
  async performBulk<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    argsList: readonly NoInfer<Args>[],
  ): Promise<string[]> {
    if (!Array.isArray(argsList)) {
      throw new ValidationError("performBulk takes an array of argument lists");
    }
    const composed = composeOptions(this.#defaults, options);
    const jobs: JobPayload[] = [];
    for (const [i, args] of argsList.entries()) {
      const job = await buildJob(composed, args, `argsList[${i}]`);
      await throughMiddleware(
        this.#middleware,
        job,
        () => Promise.resolve(void jobs.push(job)),
        true,
      );
    }
    const refused = await this.#pool.use((client) => client.pushBulk(jobs));
    if (Object.keys(refused).length > 0) {
      const pushed = jobs.map((j) => j.jid).filter((jid) => !Object.hasOwn(refused, jid));
      throw new BulkPushError({ pushed, refused, notPushed: [], unknown: [] });
    }
    return jobs.map((j) => j.jid);
  }

  /** Closes every connection after the pushes under way are done. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  /** Same as {@linkcode Producer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

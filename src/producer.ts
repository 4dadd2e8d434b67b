/**
 * The producer: push-only, shared by many concurrent callers over a pool
 * of connections that grows while they queue and shrinks when idle.
 *
 * @module
 */

import { type ClientOptions, resolveClientOptions } from "./client_options.ts";
import type { BatchOptions } from "./ent/batch.ts";
import { fillBatch } from "./ent/scope.ts";
import { Pool } from "./pool.ts";
import { BulkPushError } from "./errors.ts";
import { PRODUCER_OPTIONS } from "./rules.ts";
import { type JobOptions, type JobType, mergeOptions, payloadOf } from "./job.ts";
import { type JobPayload, randomJid, sameKindJson } from "./payload.ts";
import { encodeBatches, sendBatches } from "./bulk.ts";
import type { Client } from "./client.ts";
import {
  buildJob,
  type BulkEntry,
  type BulkJob,
  bulkJobs,
  composeOptions,
  type JobPusher,
  manyKinds,
  type PerformOptions,
  type PushMiddleware,
  sameKind,
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
  /**
   * The most connections the pool opens (default `FAKTORY_POOL_SIZE`, else
   * 32). It opens one at `connect`, and one more at a time while calls
   * queue 4 deep on every connection (50 concurrent callers get about 13);
   * `poolSize: 1` keeps it to one.
   */
  readonly poolSize?: number | undefined;
  /**
   * Milliseconds a connection may stay unused before it is closed (default
   * 30 s); the first one stays open. Closed only with no call under way.
   */
  readonly poolIdleTimeout?: number | undefined;
  /** Options applied to every job before its own (default queue: `FAKTORY_QUEUE`). */
  readonly defaults?: JobOptions | undefined;
  /** Runs around each push, first one outermost. */
  readonly middleware?: readonly PushMiddleware[] | undefined;
}

/**
 * The most connections a producer's pool opens unless told otherwise:
 * reached at about 130 concurrent callers (see QUEUE_DEPTH). 50 pushers ran
 * no faster on 50 connections than on 8 (Go's bench uses one per caller,
 * as its client does not pipeline) and spent ~40 % more CPU; the server
 * allows 2000 connections per process in all.
 */
const DEFAULT_POOL_SIZE = 32;

/**
 * Calls under way on every connection before a producer's pool adds one.
 * Pipelined, a connection carries a few calls at no cost, and each one more
 * costs writes, reads and server work: 50 pushers (`deno task bench`,
 * push-conc, Node, 2 cores) ran in ~1.0 s and 0.57 CPU s per 20,000 jobs
 * when a connection was added at 4 calls deep (~13 connections), against
 * ~1.5 s and 0.71 CPU s at 1 (every busy connection: up to 50).
 */
const QUEUE_DEPTH = 4;

/** How long an extra connection may stay unused before the pool closes it, in ms. */
const POOL_IDLE_TIMEOUT = 30_000;

/**
 * A producer on connections it does not own (a worker's): its pushes share
 * them, and closing it leaves them open.
 */
export let producerOn: (
  pool: Pool,
  defaults: JobOptions,
  middleware: readonly PushMiddleware[],
) => Producer;

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
  readonly #owned: boolean;

  private constructor(
    pool: Pool,
    defaults: JobOptions,
    middleware: readonly PushMiddleware[],
    owned = true,
  ) {
    this.#pool = pool;
    this.#defaults = defaults;
    this.#middleware = middleware;
    this.#owned = owned;
  }

  static {
    producerOn = (pool, defaults, middleware) => new Producer(pool, defaults, middleware, false);
  }

  /**
   * Opens the pool's first connection and resolves once it said HELLO; the
   * pool adds more while concurrent calls queue (see `poolSize`).
   */
  static async connect(options: ProducerOptions | string = {}): Promise<Producer> {
    const o: ProducerOptions = typeof options === "string" ? { url: options } : options;
    const config = resolveClientOptions(o, PRODUCER_OPTIONS); // checks every option first
    const env = envOf(config.runtime);
    const size = o.poolSize ?? envPoolSize(env) ?? DEFAULT_POOL_SIZE;
    const idle = o.poolIdleTimeout ?? POOL_IDLE_TIMEOUT;
    return new Producer(
      await Pool.connect(config, size, 1, o.signal, {
        idleTimeout: idle,
        queueDepth: QUEUE_DEPTH,
      }),
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
  perform<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    args: NoInfer<Args>,
  ): Promise<string> {
    // No async frames: the plain push (no schema, no middleware) is one
    // promise from here to the reply, and every check still runs first.
    let job: JobPayload | Promise<JobPayload>;
    try {
      job = buildJob(composeOptions(this.#defaults, options), args);
    } catch (e) {
      return Promise.reject(e);
    }
    return job instanceof Promise ? job.then((j) => this.#push(j)) : this.#push(job);
  }

  #push(job: JobPayload): Promise<string> {
    const middleware = this.#middleware;
    if (middleware.length === 0) return this.#pool.use((client) => client.push(job));
    return this.#pool.use((client) =>
      throughMiddleware(middleware, job, () => client.push(job).then(nothing))
    ).then(() => job.jid);
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
    const jobs = sameKind(this.#defaults, options, argsList);
    const kind = jobs[0]?.[0] as JobType | undefined;
    if (kind === undefined || kind.schema !== undefined || this.#middleware.length > 0) {
      return await this.#pushBulk(jobs);
    }
    // One kind, nothing to pass through: its fields are checked and written once.
    const write = sameKindJson(payloadOf(kind, []), this.#pool.namespace);
    const jids = jobs.map(() => randomJid());
    const batches = encodeBatches(
      jobs.length,
      (i) => write(jids[i]!, jobs[i]![1], jobs[i]![2]),
      (i) => jids[i]!,
    );
    return await this.#sendBulk(
      jids,
      (client) => sendBatches(batches, (c) => client.send(c, "PUSHB")),
    );
  }

  /**
   * Pushes jobs of any kinds at once, each `[options, args]` with the
   * options of a `perform` call (its own `jid` too), and resolves with their
   * jids in order. Each job's arguments are checked against its job type at
   * compile time. Like {@linkcode Producer.performBulk}: every job passes
   * the middleware and is checked before the first is sent, in PUSHB
   * batches of up to 1000, and a partial failure is a `BulkPushError`.
   *
   * @example
   * ```ts ignore
   * await producer.performMany([
   *   [SendEmail, ["ada@example.com"]],
   *   [[Resize, { queue: "images" }], [42, 640]],
   * ]);
   * ```
   */
  async performMany<const T extends readonly (readonly unknown[])[]>(
    jobs: { readonly [K in keyof T]: BulkJob<T[K]> },
  ): Promise<string[]> {
    return await this.#pushBulk(manyKinds(this.#defaults, jobs));
  }

  /**
   * Faktory Enterprise: creates a batch with `options` (its callbacks and
   * description), runs `fill` with a pusher whose jobs join the batch, and
   * commits it: its callbacks may then fire. If `fill` throws, the batch is
   * not committed and the call rejects with `BatchNotCommittedError`, whose
   * cause is what `fill` threw; the server drops the batch when it expires,
   * and jobs already pushed into it still run. Resolves with what `fill`
   * returned.
   *
   * @example
   * ```ts ignore
   * const success = buildPayload({ jobtype: "ImportDone" }, [fileId]);
   * await producer.batch({ description: `Import ${fileId}`, success }, async (jobs) => {
   *   await jobs.performBulk(ImportRow, rows.map((row) => [fileId, row]));
   * });
   * ```
   */
  async batch<T>(
    options: BatchOptions,
    fill: (jobs: JobPusher, bid: string) => T | Promise<T>,
  ): Promise<T> {
    const bid = await this.#pool.use((client) => client.newBatch(options));
    return await fillBatch(this, bid, fill, (b) => this.#pool.use((c) => c.commitBatch(b)));
  }

  /**
   * Faktory Enterprise: reopens batch `bid` (a job of the batch may reopen
   * its own, `job.batchId`), runs `fill` with a pusher whose jobs join it,
   * and commits it again; on an error, as {@linkcode Producer.batch}.
   *
   * @example
   * ```ts ignore
   * if (job.batchId) await jobs.openBatch(job.batchId, (batch) => batch.perform(Step2, [id]));
   * ```
   */
  async openBatch<T>(bid: string, fill: (jobs: JobPusher) => T | Promise<T>): Promise<T> {
    await this.#pool.use((client) => client.openBatch(bid));
    return await fillBatch(this, bid, fill, (b) => this.#pool.use((c) => c.commitBatch(b)));
  }

  async #pushBulk(jobs: readonly BulkEntry[]): Promise<string[]> {
    const payloads: JobPayload[] = await bulkJobs(this.#middleware, jobs);
    return await this.#sendBulk(payloads.map((j) => j.jid), (client) => client.pushBulk(payloads));
  }

  /** Runs `push` on a connection; resolves with `jids`, or throws for the ones refused. */
  async #sendBulk(
    jids: string[],
    push: (client: Client) => Promise<Record<string, string>>,
  ): Promise<string[]> {
    const refused = await this.#pool.use(push);
    if (Object.keys(refused).length > 0) {
      const pushed = jids.filter((jid) => !Object.hasOwn(refused, jid));
      throw new BulkPushError({ pushed, refused, notPushed: [], unknown: [] });
    }
    return jids;
  }

  /** Closes every connection after the pushes under way are done. */
  async close(): Promise<void> {
    if (this.#owned) await this.#pool.close();
  }

  /** Same as {@linkcode Producer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function nothing(): void {}

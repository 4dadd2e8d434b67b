/**
 * The in-memory producer and worker of `./testing`: see src/testing.ts.
 *
 * @module
 */

import { extendContext, type JobContext, type JobProgress } from "./context.ts";
import { batchNewPayload, type BatchOptions } from "./ent/batch.ts";
import { fillBatch } from "./ent/scope.ts";
import { type TrackingUpdate, trackSetPayload } from "./ent/tracking.ts";
import { FaktoryError, show, ValidationError, WorkerStoppedError } from "./errors.ts";
import { Job, type JobOptions, type JobType, mergeOptions } from "./job.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { type JobPayload, validatePayload } from "./payload.ts";
import { validateQueue } from "./protocol/command.ts";
import { checkOptions, checkValue, DRAIN_OPTIONS, TESTING_OPTIONS } from "./rules.ts";
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
import { type HandlerRegistry, Handlers, type JobHandler, type JobMiddleware } from "./handlers.ts";
import type { DrainOptions, TestBatch, TestingOptions, TestMode } from "./test_options.ts";

/** Jobs a drain without a limit runs at most before it throws. */
const MAX_DRAIN = 10_000;

/**
 * A producer and worker in one, in memory, for tests. Create it with
 * {@linkcode fake} or {@linkcode inline} (or `new TestProducer(mode)`),
 * register the handlers as on a `Worker`, and hand it to the code under
 * test wherever it expects a `JobPusher`.
 *
 * @example
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * import { inline } from "@faktory-ts/faktory/testing";
 *
 * const Charge = defineJob<[cents: number]>("Charge");
 * const jobs = inline().register(Charge, (job) => {
 *   if (job.args[0] <= 0) throw new RangeError("nothing to charge");
 * });
 * await jobs.perform(Charge, [500]); // ran already
 * await jobs.perform(Charge, [0]).catch((e) => console.log(e.message)); // nothing to charge
 * ```
 */
export class TestProducer<Ctx extends object = object>
  implements JobPusher, HandlerRegistry<Ctx>, AsyncDisposable {
  /** `inline` or `fake`, as created. */
  readonly mode: TestMode;
  readonly #defaults: JobOptions;
  readonly #pushMiddleware: readonly PushMiddleware[];
  readonly #logger: Logger;
  readonly #wid: string;
  readonly #values: ((job: Job) => Ctx) | undefined;
  readonly #handlers: Handlers;
  readonly #progress: TrackingUpdate[] = [];
  readonly #batches: { -readonly [K in keyof TestBatch]: TestBatch[K] }[] = [];
  /** Every job accepted, in push order. */
  readonly #pushed: Job[] = [];
  /** Jobs waiting to be drained (fake mode), in push order. */
  #waiting: Job[] = [];
  /** Aborts the signal of every job run from now on, and of those running: see close. */
  readonly #closing = new AbortController();

  /** Creates an empty test producer; `mode` defaults to `fake`. */
  constructor(mode: TestMode = "fake", options: TestingOptions<Ctx> = {}) {
    if (mode !== "fake" && mode !== "inline") {
      throw new ValidationError(
        `Invalid test mode ${show(mode)}: use "fake" or "inline"`,
      );
    }
    checkOptions(TESTING_OPTIONS, options, "testing options");
    this.mode = mode;
    this.#defaults = mergeOptions({ queue: "default" }, options.defaults);
    this.#pushMiddleware = [...(options.middleware ?? [])];
    this.#handlers = new Handlers(options.jobMiddleware);
    this.#logger = options.logger ?? silentLogger;
    this.#wid = options.wid ?? "test-worker";
    this.#values = options.context;
  }

  /**
   * Registers the handler for a job type (or a plain jobtype name), exactly
   * as {@linkcode Worker.register} does.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake().register("Cleanup", () => {});
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
   * Adds job middleware, inside what was added before, as
   * {@linkcode Worker.use} does.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const ran: string[] = [];
   * const jobs = fake().use(async (job, _ctx, next) => {
   *   ran.push(job.jobtype);
   *   await next();
   * });
   * ```
   */
  use(middleware: JobMiddleware<Ctx>): this {
    this.#handlers.use(middleware);
    return this;
  }

  /**
   * Pushes one job, as {@linkcode Producer.perform} does, and resolves with
   * its jid. Inline: runs it first and rejects with its handler's error.
   * Fake: keeps it for {@linkcode TestProducer.drain}. A job a real push
   * would refuse (bad options, arguments that are not JSON or that the job
   * type's schema refuses) is refused with the same `ValidationError`.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * const jid = await jobs.perform({ jobtype: "Cleanup", queue: "low" }, []);
   * console.log(jobs.jobs("low")[0]?.jid === jid); // true
   * ```
   */
  async perform<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    args: NoInfer<Args>,
  ): Promise<string> {
    const job = await buildJob(composeOptions(this.#defaults, options), args);
    let accepted: Job | undefined;
    await throughMiddleware(this.#pushMiddleware, job, () => {
      accepted = this.#accept(job);
      return Promise.resolve();
    });
    if (accepted !== undefined && this.mode === "inline") await this.#run(accepted);
    return job.jid;
  }

  /**
   * Pushes many jobs of one kind, as {@linkcode Producer.performBulk} does,
   * and resolves with their jids. Inline: runs them in order once all are
   * pushed, and rejects with the first handler error (the later jobs do not run).
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.performBulk({ jobtype: "Resize" }, [[1], [2], [3]]);
   * console.log(jobs.size); // 3
   * ```
   */
  async performBulk<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    argsList: readonly NoInfer<Args>[],
  ): Promise<string[]> {
    return await this.#pushBulk(sameKind(this.#defaults, options, argsList));
  }

  /**
   * Pushes jobs of any kinds, as {@linkcode Producer.performMany} does;
   * inline, runs them as {@linkcode TestProducer.performBulk} does.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.performMany([[{ jobtype: "Resize" }, [1]], [{ jobtype: "Notify", jid: "notify-0001" }, []]]);
   * console.log(jobs.pushed.map((j) => j.jid)[1]); // notify-0001
   * ```
   */
  async performMany<const T extends readonly (readonly unknown[])[]>(
    jobs: { readonly [K in keyof T]: BulkJob<T[K]> },
  ): Promise<string[]> {
    return await this.#pushBulk(manyKinds(this.#defaults, jobs));
  }

  /**
   * A Faktory Enterprise batch, in memory: gives it an id (`b-test-1`, ...),
   * runs `fill` with a pusher whose jobs join it (`custom.bid`), and marks it
   * committed; if `fill` throws, rejects with `BatchNotCommittedError` as
   * {@linkcode Producer.batch} does. Callbacks are not pushed: see
   * {@linkcode TestProducer.batches}.
   *
   * @example
   * ```ts
   * import { buildPayload } from "@faktory-ts/faktory";
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.batch({ success: buildPayload({ jobtype: "Done" }, []) }, (batch) =>
   *   batch.perform({ jobtype: "Step" }, []));
   * console.log(jobs.batches[0]?.committed, jobs.pushed[0]?.batchId); // true b-test-1
   * ```
   */
  async batch<T>(
    options: BatchOptions,
    fill: (jobs: JobPusher, bid: string) => T | Promise<T>,
  ): Promise<T> {
    batchNewPayload(options, (job) => (validatePayload(job), job)); // the checks of BATCH NEW
    const batch = { bid: `b-test-${this.#batches.length + 1}`, options, committed: false };
    this.#batches.push(batch);
    const commit = () => Promise.resolve(void (batch.committed = true));
    return await fillBatch(this, batch.bid, fill, commit);
  }

  /**
   * Reopens a batch in memory, as {@linkcode Producer.openBatch} does: runs
   * `fill` with a pusher whose jobs join batch `bid`, then marks it committed.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.openBatch("b-1234abcd", (batch) => batch.perform({ jobtype: "More" }, []));
   * console.log(jobs.pushed[0]?.batchId); // b-1234abcd
   * ```
   */
  async openBatch<T>(bid: string, fill: (jobs: JobPusher) => T | Promise<T>): Promise<T> {
    return await fillBatch(this, bid, fill, (b) => {
      for (const batch of this.#batches) if (batch.bid === b) batch.committed = true;
      return Promise.resolve();
    });
  }

  /** Batches made with {@linkcode TestProducer.batch}, in order: their options, and whether they were committed. */
  get batches(): readonly TestBatch[] {
    return this.#batches.map((b) => ({ ...b }));
  }

  /**
   * Progress reported by handlers (`context.progress`), in order, each with
   * its job's jid: checked as a worker's `TRACK SET` would be.
   *
   * @example
   * ```ts
   * import { inline } from "@faktory-ts/faktory/testing";
   * const jobs = inline().register("Import", (_job, ctx) => ctx.progress({ percent: 50 }));
   * await jobs.perform({ jobtype: "Import" }, []);
   * console.log(jobs.progress[0]?.percent); // 50
   * ```
   */
  get progress(): readonly TrackingUpdate[] {
    return [...this.#progress];
  }

  /**
   * Every job pushed so far, in push order, in either mode, including those
   * already run. Each is the job as a worker would fetch it.
   *
   * @example
   * ```ts
   * import { inline } from "@faktory-ts/faktory/testing";
   * const jobs = inline().register("Ping", () => {});
   * await jobs.perform({ jobtype: "Ping" }, []);
   * console.log(jobs.pushed.map((j) => j.jobtype)); // ["Ping"]
   * ```
   */
  get pushed(): readonly Job[] {
    return [...this.#pushed];
  }

  /** Number of jobs waiting to be drained (always 0 in inline mode). */
  get size(): number {
    return this.#waiting.length;
  }

  /** Names of the queues with jobs waiting, in order of first push. */
  get queues(): string[] {
    return [...new Set(this.#waiting.map((job) => job.queue))];
  }

  /**
   * Jobs waiting to be drained, in push order: those of one queue, or all.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.perform({ jobtype: "Report", queue: "low", in: 3600 }, ["daily"]);
   * const [job] = jobs.jobs("low");
   * console.log(job?.args, job?.at !== undefined); // ["daily"] true
   * ```
   */
  jobs(queue?: string): Job[] {
    if (queue !== undefined) validateQueue(queue);
    return this.#waiting.filter((job) => queue === undefined || job.queue === queue);
  }

  /**
   * Jobs of one job type waiting to be drained, typed by its arguments.
   *
   * @example
   * ```ts
   * import { defineJob } from "@faktory-ts/faktory";
   * import { fake } from "@faktory-ts/faktory/testing";
   * const SendEmail = defineJob<[to: string]>("SendEmail");
   * const jobs = fake();
   * await jobs.perform(SendEmail, ["ada@example.com"]);
   * const to: string[] = jobs.jobsOf(SendEmail).map((job) => job.args[0]);
   * ```
   */
  jobsOf<Args extends readonly unknown[]>(
    type: JobType<Args, readonly unknown[]> | string,
  ): Job<Args>[] {
    checkValue(DRAIN_OPTIONS.jobtype!, type, "type");
    const jobtype = typeof type === "string" ? type : type.jobtype;
    return this.#waiting.filter((job) => job.jobtype === jobtype) as unknown as Job<Args>[];
  }

  /**
   * Drops waiting jobs without running them: those of one queue, or all.
   * `pushed` keeps its record.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake();
   * await jobs.perform({ jobtype: "Noise" }, []);
   * jobs.clear();
   * console.log(jobs.size); // 0
   * ```
   */
  clear(queue?: string): void {
    if (queue !== undefined) validateQueue(queue);
    this.#waiting = queue === undefined ? [] : this.#waiting.filter((job) => job.queue !== queue);
  }

  /**
   * Runs waiting jobs through their handlers one at a time, in push order,
   * including jobs pushed while draining, until none is left (of the chosen
   * queues and job type). Scheduled jobs (`at`, `in`) run too, without
   * waiting, up to `limit` jobs. Resolves with the jobs run. A handler's error (or an unknown
   * jobtype, or arguments refused by the schema) rejects at once with that
   * error; the failed job is removed, the others stay.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * const jobs = fake().register("Ping", () => {});
   * await jobs.perform({ jobtype: "Ping" }, []);
   * const ran = await jobs.drain();
   * console.log(ran.length, jobs.size); // 1 0
   * ```
   */
  async drain(options: DrainOptions = {}): Promise<Job[]> {
    checkOptions(DRAIN_OPTIONS, options, "drain options");
    const queues = options.queue === undefined
      ? undefined
      : typeof options.queue === "string"
      ? [options.queue]
      : options.queue;
    const jobtype = typeof options.jobtype === "object" ? options.jobtype.jobtype : options.jobtype;
    const limit = options.limit ?? MAX_DRAIN;
    const chosen = (job: Job) =>
      (queues === undefined || queues.includes(job.queue)) &&
      (jobtype === undefined || job.jobtype === jobtype);
    const ran: Job[] = [];
    for (;;) {
      const index = this.#waiting.findIndex(chosen);
      if (index < 0) return ran;
      if (ran.length >= limit) {
        if (options.limit !== undefined) return ran;
        throw new FaktoryError(
          `drain ran ${limit} jobs and more are waiting: does a job push itself? If not, set a higher limit`,
        );
      }
      const [job] = this.#waiting.splice(index, 1);
      ran.push(await this.#run(job!));
    }
  }

  /**
   * Aborts the signal of jobs still running and of any run later, and drops
   * the waiting jobs. Handlers that honour their signal stop.
   *
   * @example
   * ```ts
   * import { fake } from "@faktory-ts/faktory/testing";
   * await using jobs = fake(); // closed at the end of the scope
   * ```
   */
  close(): Promise<void> {
    this.#closing.abort(new WorkerStoppedError("The test producer was closed"));
    this.#waiting = [];
    return Promise.resolve();
  }

  /** Same as {@linkcode TestProducer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Checks the job as a push would, then records it as a worker would fetch it. */
  #accept(payload: JobPayload): Job {
    validatePayload(payload);
    const now = new Date().toISOString();
    const wire = JSON.parse(JSON.stringify(payload)) as JobPayload;
    const job = new Job({ ...wire, created_at: now, enqueued_at: now });
    this.#pushed.push(job);
    if (this.mode === "fake") this.#waiting.push(job);
    return job;
  }

  /** Bulk pushes: all jobs checked and accepted before any runs (inline). */
  async #pushBulk(jobs: readonly BulkEntry[]): Promise<string[]> {
    const payloads = await bulkJobs(this.#pushMiddleware, jobs);
    for (const job of payloads) validatePayload(job); // all or nothing, as far as checks go
    const accepted = payloads.map((job) => this.#accept(job));
    if (this.mode === "inline") { for (const job of accepted) await this.#run(job); }
    return payloads.map((job) => job.jid);
  }

  /** Runs one job as a Worker does (context, middleware, schema, handler); resolves with the job run. */
  async #run(stored: Job): Promise<Job> {
    const job = new Job(JSON.parse(JSON.stringify(stored.payload)) as JobPayload);
    const context: JobContext = {
      signal: this.#closing.signal,
      logger: this.#logger,
      wid: this.#wid,
      jobs: this,
      progress: (update: JobProgress) => {
        const tracked = { ...update, jid: job.jid };
        trackSetPayload(tracked); // the checks of TRACK SET
        this.#progress.push(tracked);
        return Promise.resolve();
      },
    };
    const values = this.#values;
    await this.#handlers.run(job, values ? extendContext(context, values(job)) : context);
    return job;
  }
}

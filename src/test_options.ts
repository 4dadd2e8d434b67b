/**
 * The options and records of `./testing`'s {@linkcode TestProducer}: see
 * src/testing.ts.
 *
 * @module
 */

import type { BatchOptions } from "./ent/batch.ts";
import type { JobMiddleware } from "./handlers.ts";
import type { Job, JobOptions, JobType } from "./job.ts";
import type { Logger } from "./logger.ts";
import type { PushMiddleware } from "./push.ts";

/**
 * How a {@linkcode TestProducer} treats a push: `inline` runs the job at
 * once, `fake` keeps it until {@linkcode TestProducer.drain}.
 *
 * @example
 * ```ts
 * import { TestProducer, type TestMode } from "@faktory-ts/faktory/testing";
 * const mode: TestMode = "inline";
 * const jobs = new TestProducer(mode);
 * console.log(jobs.mode); // inline
 * ```
 */
export type TestMode = "fake" | "inline";

/**
 * Settings of a {@linkcode TestProducer}; all optional.
 *
 * @example
 * ```ts
 * import { silentLogger } from "@faktory-ts/faktory";
 * import type { TestingOptions } from "@faktory-ts/faktory/testing";
 * const options: TestingOptions = { defaults: { queue: "app" }, logger: silentLogger, wid: "test-1" };
 * ```
 */
export interface TestingOptions<Ctx extends object = object> {
  /** Options applied to every job before its own (as `ProducerOptions.defaults`; default queue `default`). */
  readonly defaults?: JobOptions | undefined;
  /** Push middleware, run around each push as a `Producer` runs it. */
  readonly middleware?: readonly PushMiddleware[] | undefined;
  /** Job middleware, run around each job as a `Worker` runs it (more with {@linkcode TestProducer.use}). */
  readonly jobMiddleware?: readonly JobMiddleware<NoInfer<Ctx>>[] | undefined;
  /**
   * The application's values for handlers, added to each job's context as
   * the `Worker`'s `context` option adds them: give the fakes (an in-memory
   * database) here.
   */
  readonly context?: ((job: Job) => Ctx) | undefined;
  /** The logger handlers get in their context (default {@linkcode silentLogger}). */
  readonly logger?: Logger | undefined;
  /** The worker id handlers get in their context (default `test-worker`). */
  readonly wid?: string | undefined;
}

/**
 * Which waiting jobs {@linkcode TestProducer.drain} runs.
 *
 * @example
 * ```ts
 * import type { DrainOptions } from "@faktory-ts/faktory/testing";
 * const onlyMail: DrainOptions = { queue: "mail", limit: 100 };
 * ```
 */
export interface DrainOptions {
  /** Only jobs of this queue (or these queues). Default: every queue. */
  readonly queue?: string | readonly string[] | undefined;
  /** Only jobs of this job type. Default: every job type. */
  readonly jobtype?: JobType | string | undefined;
  /**
   * Most jobs to run, counting jobs pushed while draining; the rest stay
   * waiting. Without a limit, drain throws after 10 000 jobs with more
   * waiting: a job that pushes itself would otherwise drain forever.
   */
  readonly limit?: number | undefined;
}

/**
 * A batch a {@linkcode TestProducer} made (Faktory Enterprise batches, in memory).
 *
 * @example
 * ```ts
 * import type { TestBatch } from "@faktory-ts/faktory/testing";
 * const done = (batches: readonly TestBatch[]) => batches.every((b) => b.committed);
 * ```
 */
export interface TestBatch {
  /** Its id: `b-test-1`, `b-test-2`, ... */
  readonly bid: string;
  /** What it was created with: description and callbacks. */
  readonly options: BatchOptions;
  /** Whether the function filling it returned, so it was committed. */
  readonly committed: boolean;
}

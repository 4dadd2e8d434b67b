/**
 * Pushing jobs, whatever receives them: the {@linkcode JobPusher} interface
 * that `Producer` and the test doubles of `./testing` implement, the options
 * of one push, and push middleware. No connection code: `./testing` uses it.
 *
 * @module
 */

import type { BatchOptions } from "./ent/batch.ts";
import { show, ValidationError } from "./errors.ts";
import { type JobOptions, type JobType, mergeOnto, payloadOf } from "./job.ts";
import { checkJson } from "./json.ts";
import type { JobPayload } from "./payload.ts";
import { parseArgs } from "./schema.ts";

/**
 * Runs around every push: may change the job, add `custom` fields (a trace
 * id), log, or refuse it by throwing. Call `next` to push. In a bulk push
 * (`push.bulk`) each job passes the chain first (`next` then only queues it;
 * a job whose chain does not call `next` is left out) and the batch is sent
 * afterwards.
 *
 * @example
 * ```ts
 * import type { PushMiddleware } from "@faktory-ts/faktory";
 * const stamp: PushMiddleware = (job, next) => {
 *   job.custom = { ...job.custom, pushed_by: "billing" };
 *   return next();
 * };
 * ```
 */
export type PushMiddleware = (
  job: JobPayload,
  next: () => Promise<void>,
  push: PushInfo,
) => Promise<void>;

/**
 * What push middleware is told about the push it runs in.
 *
 * @example
 * ```ts
 * import type { PushMiddleware } from "@faktory-ts/faktory";
 * const timed: PushMiddleware = async (job, next, { bulk }) => {
 *   const start = performance.now();
 *   await next(); // in a bulk push this only queues the job
 *   if (!bulk) console.log(`pushed ${job.jid} in ${performance.now() - start} ms`);
 * };
 * ```
 */
export interface PushInfo {
  /** Part of a bulk push: `next` only queues the job, and the batch is sent later. */
  readonly bulk: boolean;
}

/** Options for one push: one set, or several composed left to right. */
export type PerformOptions<Args extends readonly unknown[]> =
  | JobType<Args, readonly unknown[]>
  | JobOptions
  | readonly [JobType<Args, readonly unknown[]>, ...JobOptions[]]
  | readonly JobOptions[];

/**
 * One job of a {@linkcode JobPusher.performMany} call: its options (as for
 * `perform`) and its arguments, checked against the job type's.
 *
 * @example
 * ```ts
 * import { type BulkJob, defineJob } from "@faktory-ts/faktory";
 * const Resize = defineJob<[imageId: number, width: number]>("Resize");
 * const job: BulkJob<[number, number]> = [[Resize, { queue: "images" }], [42, 640]];
 * ```
 */
export type BulkJob<Args extends readonly unknown[] = readonly unknown[]> = readonly [
  options: PerformOptions<Args>,
  args: NoInfer<Args>,
];

/**
 * What pushes jobs: {@linkcode Producer} talks to a server, a handler's
 * `context.jobs` pushes through its worker's connections, and the test
 * doubles of `@faktory-ts/faktory/testing` run or collect jobs in memory.
 * Code that only pushes can take a `JobPusher`, so its tests need no server.
 *
 * @example
 * ```ts
 * import { defineJob, type JobPusher } from "@faktory-ts/faktory";
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 * export async function signUp(jobs: JobPusher, email: string): Promise<string> {
 *   return await jobs.perform(SendEmail, [email]);
 * }
 * ```
 */
export interface JobPusher {
  /** Pushes one job and resolves with its jid (see {@linkcode Producer.perform}). */
  perform<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    args: NoInfer<Args>,
  ): Promise<string>;
  /** Pushes many jobs of one kind and resolves with their jids (see {@linkcode Producer.performBulk}). */
  performBulk<Args extends readonly unknown[]>(
    options: PerformOptions<Args>,
    argsList: readonly NoInfer<Args>[],
  ): Promise<string[]>;
  /** Pushes jobs of any kinds at once and resolves with their jids (see {@linkcode Producer.performMany}). */
  performMany<const T extends readonly (readonly unknown[])[]>(
    jobs: { readonly [K in keyof T]: BulkJob<T[K]> },
  ): Promise<string[]>;
  /**
   * Faktory Enterprise: creates a batch, runs `fill` with a pusher whose jobs
   * join it, then commits it (see {@linkcode Producer.batch}).
   */
  batch<T>(
    options: BatchOptions,
    fill: (jobs: JobPusher, bid: string) => T | Promise<T>,
  ): Promise<T>;
  /**
   * Faktory Enterprise: reopens a batch, runs `fill` with a pusher whose jobs
   * join it, then commits it again (see {@linkcode Producer.openBatch}).
   */
  openBatch<T>(bid: string, fill: (jobs: JobPusher) => T | Promise<T>): Promise<T>;
}

/**
 * `defaults` (options merged already: a producer's), then the options of a
 * perform call (one or a list), later winning; only the latter are checked.
 */
export function composeOptions<Args extends readonly unknown[]>(
  defaults: JobOptions,
  options: PerformOptions<Args>,
): JobOptions {
  if (typeof options !== "object" || options === null) {
    throw new ValidationError(
      `Invalid options ${show(options)}: pass a job type, job options, or a list of them`,
    );
  }
  return mergeOnto(
    defaults,
    Array.isArray(options) ? options as JobOptions[] : [options as JobOptions],
  );
}

/**
 * Builds the job of one push from composed options and checks its arguments
 * against the job type's schema, if it has one (a `ValidationError` names
 * each issue under `path`). The job carries the arguments as given, not the
 * schema's output: the worker checks them again and applies any transform
 * once, there. Without a schema, no promise: a push builds one job per call.
 */
export function buildJob(
  options: JobOptions,
  args: readonly unknown[],
  path = "args",
): JobPayload | Promise<JobPayload> {
  const job = payloadOf(options, args, path);
  const { schema } = options as JobType;
  if (schema === undefined) return job;
  return parseArgs(schema, job.jobtype, job.args, ValidationError, path).then(() => job);
}

const SINGLE: PushInfo = Object.freeze({ bulk: false });
const BULK: PushInfo = Object.freeze({ bulk: true });

/** Runs push middleware around `push`, first one outermost. */
export function throughMiddleware(
  middleware: readonly PushMiddleware[],
  job: JobPayload,
  push: () => Promise<void>,
  bulk = false,
): Promise<void> {
  const info = bulk ? BULK : SINGLE;
  const run = (i: number): Promise<void> => {
    const m = middleware[i];
    return m ? m(job, () => run(i + 1), info) : push();
  };
  return run(0);
}

/** One job of a bulk push: its composed options, its arguments, and where they were given. */
export type BulkEntry = readonly [options: JobOptions, args: unknown, path: string];

/**
 * The jobs of a bulk push, built from composed options and arguments (and
 * checked against their schemas) and passed through the push middleware one
 * by one (`next` only queues a job; one whose chain does not call it is left
 * out), before any is sent. Where `next` queues a job, its args are checked
 * as JSON, as a single push's are there, but named by their place in the
 * bulk (`argsList[3][0]`), as `performBulk`'s fast path names them.
 */
export async function bulkJobs(
  middleware: readonly PushMiddleware[],
  jobs: readonly BulkEntry[],
): Promise<JobPayload[]> {
  const accepted: JobPayload[] = [];
  for (const [options, args, path] of jobs) {
    const built = buildJob(options, args as readonly unknown[], path);
    const job = built instanceof Promise ? await built : built; // a tick per job only with a schema
    const accept = () => {
      checkJson(job.args, path);
      accepted.push(job);
    };
    if (middleware.length === 0) accept();
    else await throughMiddleware(middleware, job, () => Promise.resolve().then(accept), true);
  }
  return accepted;
}

/** `performBulk`'s jobs: one set of options (composed once, without a jid) for every argument list. */
export function sameKind(
  defaults: JobOptions,
  options: PerformOptions<readonly unknown[]>,
  argsList: unknown,
): BulkEntry[] {
  if (!Array.isArray(argsList)) {
    throw new ValidationError("performBulk takes an array of argument lists");
  }
  const composed = composeOptions(defaults, options);
  if (composed.jid !== undefined) {
    throw new ValidationError(
      `Invalid jid ${
        show(composed.jid)
      } for performBulk: one jid cannot name many jobs; give each job its own with performMany`,
    );
  }
  return Array.from(argsList, (args, i) => [composed, args, `argsList[${i}]`]);
}

/** `performMany`'s jobs, each `[options, args]`, with their options composed. */
export function manyKinds(defaults: JobOptions, jobs: unknown): BulkEntry[] {
  if (!Array.isArray(jobs)) {
    throw new ValidationError("performMany takes an array of [options, args] pairs");
  }
  return Array.from(jobs, (entry: unknown, i): BulkEntry => {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new ValidationError(
        `Invalid job ${
          show(entry)
        } for performMany: use [options, args], such as [SendEmail, ["ada@example.com"]]`,
      );
    }
    return [composeOptions(defaults, entry[0]), entry[1], `jobs[${i}][1]`];
  });
}

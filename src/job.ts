/**
 * Jobs: options that compose, typed job definitions shared by producers and
 * workers, and the `Job` a handler receives.
 *
 * @module
 */

import { show, ValidationError } from "./errors.ts";
import { DEFAULT_RETRY, type JobFailure, type JobPayload, randomJid } from "./payload.ts";
import {
  checkOptions,
  checkValue,
  FIRST_TIME,
  JOB_OPTIONS,
  JOBTYPE,
  LAST_TIME,
  SHARED_JOB_OPTIONS,
} from "./rules.ts";
import { enterpriseCustom } from "./ent/options.ts";
import type { StandardSchemaV1 } from "./schema.ts";

/**
 * How a job is pushed. Options compose with {@linkcode mergeOptions}: later
 * values win and `custom` objects merge. Each option's type and range are in
 * the rules table (src/rules.ts); a wrong one is a `ValidationError` before
 * anything is sent.
 *
 * @example
 * ```ts
 * import type { JobOptions } from "@faktory-ts/faktory";
 * const urgent: JobOptions = { queue: "critical", retry: 3, reserveFor: 120 };
 * const later: JobOptions = { in: 60 }; // seconds from now
 * // Faktory Enterprise: one sync per user per 10 minutes, useless after an hour
 * const sync: JobOptions = { uniqueFor: 600, expiresIn: 3600, tracked: true };
 * ```
 */
export interface JobOptions {
  /**
   * The job's id (default: random). Give your own to make pushes
   * idempotent: store it before pushing, push again after a lost reply, and
   * key the handler's effects by it (the open-source server does not refuse
   * a second job with the same jid). At least 8 characters, no spaces. It
   * names one job: refused in a job type, in `defaults`, and in
   * `performBulk` (give each job its own with `performMany`).
   */
  readonly jid?: string | undefined;
  /** Handler name. Required by the time a job is pushed (usually from a {@linkcode JobType}). */
  readonly jobtype?: string | undefined;
  /** Queue name (letters, digits, `.`, `_`, `-`); default `default` or `FAKTORY_QUEUE`. */
  readonly queue?: string | undefined;
  /** Retries on failure (default 25; -1 to 300); 0 discards the job on failure. */
  readonly retry?: number | undefined;
  /** `true` sends a failed job straight to the dead set (`retry: -1`). */
  readonly once?: boolean | undefined;
  /** Run at this time, not before (years 0 to 9999). */
  readonly at?: Date | undefined;
  /** Run this many seconds from the time of the push, not before (at most 100 years). */
  readonly in?: number | undefined;
  /** Seconds a worker may hold the job (the server raises values under 60 to 60; at most 86400). */
  readonly reserveFor?: number | undefined;
  /** Lines of backtrace to keep on failure (0 to 1000). */
  readonly backtrace?: number | undefined;
  /**
   * Free-form data merged key by key with earlier options' `custom`. Its
   * values follow the rule for `args`: they must come back from JSON as they
   * went in (see {@linkcode JobPayload.args}).
   */
  readonly custom?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Faktory Enterprise: push the job into this open batch (`custom.bid`); see
   * `Client.newBatch`.
   */
  readonly batchId?: string | undefined;
  /** Faktory Enterprise: let `Client.getTracking` follow the job (`custom.track = 1`). */
  readonly tracked?: boolean | undefined;
  /**
   * Faktory Enterprise: refuse (`NotUniqueError`) a push of the same jobtype,
   * args and queue for this many seconds, or until the first one succeeds
   * (`custom.unique_for`).
   */
  readonly uniqueFor?: number | undefined;
  /**
   * Faktory Enterprise: when a unique job unlocks: `success` (the default:
   * once it succeeded) or `start` (once it starts running) (`custom.unique_until`).
   * Needs `uniqueFor`.
   */
  readonly uniqueUntil?: "success" | "start" | undefined;
  /** Faktory Enterprise: drop the job instead of running it after this time (`custom.expires_at`). */
  readonly expiresAt?: Date | undefined;
  /**
   * Faktory Enterprise: drop the job instead of running it once this many
   * seconds have passed since the push (`custom.expires_in`).
   */
  readonly expiresIn?: number | undefined;
}

/**
 * Combines options left to right: a later defined value replaces an earlier
 * one, `custom` objects merge, and `at`/`in` (and `expiresAt`/`expiresIn`)
 * replace each other.
 *
 * @example
 * ```ts
 * import { mergeOptions } from "@faktory-ts/faktory";
 * const o = mergeOptions({ queue: "a", custom: { x: 1 } }, { queue: "b", custom: { y: 2 } });
 * console.log(o.queue, o.custom); // b { x: 1, y: 2 }
 * ```
 */
export function mergeOptions(...options: readonly (JobOptions | undefined)[]): JobOptions {
  return mergeOnto({}, options);
}

/**
 * `checked` (options merged already, so checked) with `options` merged on
 * top, each checked: what a push composes, without checking its producer's
 * defaults again on every call.
 */
export function mergeOnto(
  checked: JobOptions,
  options: readonly (JobOptions | undefined)[],
): JobOptions {
  // Copied key by key onto `{}`, not spread: a spread copy given more keys
  // got a map of its own each time in V8, and building the job from it
  // cost ~3 us more per push (Node 20).
  const out: Options = {};
  assign(out, checked);
  for (const o of options) {
    if (o === undefined) continue;
    checkOptions(JOB_OPTIONS, o, "job options");
    assign(out, o);
  }
  return out;
}

type Options = { -readonly [K in keyof JobOptions]: JobOptions[K] };

function assign(out: Options, o: JobOptions): void {
  for (const key of Object.keys(o) as (keyof JobOptions)[]) {
    const value = o[key] as never;
    if (value === undefined) continue;
    if (key === "custom") out.custom = { ...out.custom, ...(value as Record<string, unknown>) };
    else if (key === "at") {
      out.at = value;
      delete out.in;
    } else if (key === "in") {
      out.in = value;
      delete out.at;
    } else if (key === "expiresAt" || key === "expiresIn") {
      delete out.expiresAt;
      delete out.expiresIn;
      out[key] = value;
    } else out[key] = value;
  }
}

/**
 * A job type: its name, default options, and its arguments: `Args` as a
 * push passes them, `Parsed` as the handler gets them (the schema's output;
 * the same without a schema). Define it once and use it for pushing and for
 * handling, so the compiler checks both sides agree.
 *
 * @example
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * const SendEmail = defineJob<[to: string, subject: string]>("SendEmail", { queue: "mail" });
 * console.log(SendEmail.jobtype); // SendEmail
 * ```
 */
export interface JobType<
  Args extends readonly unknown[] = readonly unknown[],
  Parsed extends readonly unknown[] = Args,
> extends JobOptions {
  /** The handler name. */
  readonly jobtype: string;
  /**
   * The schema of the argument list: any Standard Schema (zod, valibot,
   * arktype, or `schemaFrom(fn)`). A push checks the arguments with it
   * and sends them as given (a `ValidationError` and nothing sent if
   * refused); the worker checks them again and the handler gets the output
   * (an `InvalidArgumentsError` FAIL if refused). Its types also carry the
   * argument types for the compiler, even when absent.
   */
  readonly schema?: StandardSchemaV1<Args, Parsed> | undefined;
}

/**
 * Declares a job type with its default options and its argument types:
 * inferred from a `schema`, or given as a type argument.
 *
 * @example
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * import { z } from "zod";
 *
 * const Resize = defineJob("Resize", {
 *   queue: "images",
 *   schema: z.tuple([z.int().positive(), z.int().min(16)]),
 * });
 * const Cleanup = defineJob<[dir: string]>("Cleanup", { retry: 3 }); // no check at run time
 * ```
 */
export function defineJob<
  Args extends readonly unknown[] = readonly unknown[],
  Parsed extends readonly unknown[] = Args,
>(
  jobtype: string,
  options: JobOptions & { readonly schema?: StandardSchemaV1<Args, Parsed> | undefined } = {},
): JobType<Args, Parsed> {
  checkValue(JOBTYPE, jobtype, "jobtype");
  checkOptions(SHARED_JOB_OPTIONS, options, "job options");
  return { ...options, jobtype };
}

/**
 * Builds the wire payload for one job from composed options, checking each
 * option; `now` is the time `in` counts from.
 */
export function buildPayload<Args extends readonly unknown[]>(
  options: JobOptions,
  args: Args,
  now: number = Date.now(),
): JobPayload<Args> {
  checkOptions(JOB_OPTIONS, options, "job options");
  return payloadOf(options, args, "args", now);
}

/**
 * {@linkcode buildPayload} for options checked already (by
 * {@linkcode mergeOnto}): a push checks each option once, not twice. `path`
 * names the args in an error (a bulk push names them by their place).
 */
export function payloadOf<Args extends readonly unknown[]>(
  options: JobOptions,
  args: Args,
  path = "args",
  now?: number,
): JobPayload<Args> {
  const { jobtype } = options;
  checkValue(JOBTYPE, jobtype, "jobtype");
  if (!Array.isArray(args)) {
    throw new ValidationError(`Invalid ${path} for ${jobtype}: args must be an array`);
  }
  const job: JobPayload<Args> = { jid: options.jid ?? randomJid(), jobtype: jobtype!, args };
  if (options.queue !== undefined) job.queue = options.queue;
  if (options.retry !== undefined) job.retry = options.retry;
  if (options.once) job.retry = -1;
  if (options.at !== undefined) job.at = options.at.toISOString();
  if (options.in !== undefined) {
    now ??= Date.now();
    const at = now + options.in * 1000;
    if (!(at >= FIRST_TIME && at <= LAST_TIME)) {
      throw new ValidationError(
        `Invalid in ${options.in}: counted from ${show(now)} it falls outside the years 0 to 9999`,
      );
    }
    job.at = new Date(at).toISOString();
  }
  if (options.reserveFor !== undefined) job.reserve_for = options.reserveFor;
  if (options.backtrace !== undefined) job.backtrace = options.backtrace;
  if (options.custom !== undefined) job.custom = { ...options.custom };
  const enterprise = enterpriseCustom(options);
  if (enterprise !== undefined) job.custom = { ...job.custom, ...enterprise };
  return job;
}

/** The reservation the server gives a job that does not set one, in seconds. */
export const DEFAULT_RESERVE_FOR = 1800;

/**
 * A fetched job, as a handler sees it. The server (or a hostile one) may
 * send any JSON in a field: each getter returns what its type says, the
 * server's default where a field is missing or of the wrong type.
 *
 * @example
 * ```ts
 * import { Job } from "@faktory-ts/faktory";
 * const job = new Job<[string]>({ jid: "0123456789ab", jobtype: "Hello", args: ["world"] });
 * console.log(job.args[0], job.reserveFor); // world 1800
 * ```
 */
export class Job<Args extends readonly unknown[] = readonly unknown[]> {
  /** The job exactly as the server sent it. */
  readonly payload: JobPayload<Args>;

  /** Wraps a payload received from the server. */
  constructor(payload: JobPayload<Args>) {
    this.payload = payload;
  }

  /** Unique job id. */
  get jid(): string {
    return this.payload.jid;
  }
  /** Handler name. */
  get jobtype(): string {
    return this.payload.jobtype;
  }
  /** Arguments. */
  get args(): Args {
    return this.payload.args;
  }
  /** Queue it came from (without the namespace). */
  get queue(): string {
    const queue: unknown = this.payload.queue;
    return typeof queue === "string" ? queue : "default";
  }
  /** When it was scheduled to run, if it was scheduled. */
  get at(): Date | undefined {
    return time(this.payload.at);
  }
  /**
   * Seconds the worker may hold it before the server fails it: what the
   * server enforces, from 60 to 86400 (a day).
   */
  get reserveFor(): number {
    const seconds: unknown = this.payload.reserve_for;
    return typeof seconds === "number" && Number.isFinite(seconds) && seconds !== 0
      ? Math.min(86_400, Math.max(60, seconds))
      : DEFAULT_RESERVE_FOR;
  }
  /** Retries allowed in all (server default 25). */
  get retry(): number {
    const retry: unknown = this.payload.retry;
    return Number.isInteger(retry) ? retry as number : DEFAULT_RETRY;
  }
  /** Lines of backtrace kept on failure. */
  get backtrace(): number {
    const lines: unknown = this.payload.backtrace;
    return Number.isInteger(lines) && (lines as number) > 0 ? lines as number : 0;
  }
  /** Free-form data. */
  get custom(): Readonly<Record<string, unknown>> {
    const custom: unknown = this.payload.custom;
    return isRecord(custom) ? custom : {};
  }
  /**
   * Faktory Enterprise: the batch the job belongs to (`custom.bid`), if any;
   * it may reopen it to add jobs (`ctx.jobs.openBatch(job.batchId, fill)`).
   */
  get batchId(): string | undefined {
    return this.#word("bid");
  }
  /**
   * Faktory Enterprise: for a batch's `success` or `complete` callback, the
   * batch it is the callback of (`custom._bid`, as Go's `CallbackBid` reads
   * it). A callback is not a job of that batch: its `batchId` is unset.
   */
  get callbackBatchId(): string | undefined {
    return this.#word("_bid");
  }
  /**
   * Faktory Enterprise: for a callback of a child batch, the parent batch
   * (`custom._pbid`, as Ruby's `parent_bid` reads it), which it may reopen.
   */
  get parentBatchId(): string | undefined {
    return this.#word("_pbid");
  }
  /** Faktory Enterprise: whether it was pushed with `tracked: true` (`custom.track`). */
  get tracked(): boolean {
    return this.custom.track === 1;
  }
  /** Set on a job that failed before; holds only the fields of the right type. */
  get failure(): JobFailure | undefined {
    const f: unknown = this.payload.failure;
    if (!isRecord(f)) return undefined;
    const failure: Record<string, unknown> = {};
    for (const key of ["retry_count", "remaining"] as const) {
      if (Number.isInteger(f[key])) failure[key] = f[key];
    }
    for (const key of ["failed_at", "next_at", "message", "errtype"] as const) {
      if (typeof f[key] === "string") failure[key] = f[key];
    }
    if (Array.isArray(f.backtrace)) {
      failure.backtrace = Array.from(f.backtrace, (l) => (typeof l === "string" ? l : ""));
    }
    return failure;
  }
  /** When it was created. */
  get createdAt(): Date | undefined {
    return time(this.payload.created_at);
  }
  /** When it was last enqueued. */
  get enqueuedAt(): Date | undefined {
    return time(this.payload.enqueued_at);
  }
  /** Retries left if this run fails: from the server's `failure.remaining` when sent. */
  get retriesRemaining(): number {
    const f = this.failure;
    if (f?.remaining !== undefined) return Math.max(0, f.remaining);
    return Math.max(0, this.retry - (f?.retry_count ?? 0));
  }

  /** A non-empty string of `custom`, else undefined. */
  #word(key: string): string | undefined {
    const value = this.custom[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  }
}

/** An RFC 3339 time from the server, or undefined if absent or not a time. */
function time(value: unknown): Date | undefined {
  const date = typeof value === "string" ? new Date(value) : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The job as it travels on the wire, and the checks that keep a push from
 * sending something the server would reject or silently change.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import { validateQueue, validateWord, withJson } from "./protocol/command.ts";
import { toHex } from "./protocol/hex.ts";
import { namespaced } from "./settings.ts";

/**
 * Failure details the server adds to a job that failed before.
 *
 * @example
 * ```ts
 * import type { JobFailure } from "@faktory-ts/faktory";
 * const f: JobFailure = { retry_count: 1, remaining: 24, errtype: "Error", message: "boom" };
 * ```
 */
export interface JobFailure {
  /** How many times the job has failed. */
  readonly retry_count?: number;
  /** Retries left (sent by newer servers). */
  readonly remaining?: number;
  /** When it last failed (RFC 3339). */
  readonly failed_at?: string;
  /** When it will be retried (RFC 3339). */
  readonly next_at?: string;
  /** The last error's message. */
  readonly message?: string;
  /** The last error's type. */
  readonly errtype?: string;
  /** The last error's backtrace lines. */
  readonly backtrace?: readonly string[];
}

/**
 * A job in Faktory's JSON format, as pushed and fetched.
 *
 * @example
 * ```ts
 * import { randomJid, type JobPayload } from "@faktory-ts/faktory";
 * const job: JobPayload = { jid: randomJid(), jobtype: "SendEmail", args: ["a@example.com"], queue: "mail" };
 * ```
 */
export interface JobPayload<Args extends readonly unknown[] = readonly unknown[]> {
  /** Unique job id, at least 8 characters. */
  jid: string;
  /** Names the handler that runs the job. */
  jobtype: string;
  /** Arguments for the handler. */
  args: Args;
  /** Queue name; the server uses `default` when absent. */
  queue?: string;
  /** Seconds the worker may hold the job before the server fails it (60-86400, default 1800). */
  reserve_for?: number;
  /** Run at this time (RFC 3339), not before. */
  at?: string;
  /** Retries on failure (default 25); 0 discards on failure; -1 sends it straight to the dead set. */
  retry?: number;
  /** Lines of backtrace to keep on failure. */
  backtrace?: number;
  /** Free-form data, also used by Enterprise features. */
  custom?: Record<string, unknown>;
  /** Set by the server when the job was created (RFC 3339). */
  created_at?: string;
  /** Set by the server when the job was enqueued (RFC 3339). */
  enqueued_at?: string;
  /** Set by the server on a job that failed before. */
  failure?: JobFailure;
}

/**
 * A new job id: 24 hex characters from the platform's cryptographic random source.
 *
 * @example
 * ```ts
 * import { randomJid } from "@faktory-ts/faktory";
 * console.log(randomJid().length); // 24
 * ```
 */
export function randomJid(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(12)));
}

/** The server's default number of retries. */
export const DEFAULT_RETRY = 25;

/** Largest JSON payload a single job may have, in characters: past it, push is refused. */
export const MAX_JOB_BYTES = 16 * 1024 * 1024;

/**
 * Checks a job before it is sent; throws {@linkcode ValidationError} naming the
 * field to fix. Returns its JSON text size estimate is left to the encoder.
 */
export function validatePayload(job: JobPayload): void {
  if (typeof job !== "object" || job === null) throw new ValidationError("A job must be an object");
  validateWord(job.jid, "jid");
  if (job.jid.length < 8) {
    throw new ValidationError(`Invalid jid ${JSON.stringify(job.jid)}: use at least 8 characters`);
  }
  if (typeof job.jobtype !== "string" || job.jobtype.trim() === "") {
    throw new ValidationError(
      `Invalid jobtype ${JSON.stringify(job.jobtype)}: it must be a non-empty string`,
    );
  }
  if (!Array.isArray(job.args)) {
    throw new ValidationError(`Invalid args for ${job.jobtype}: args must be an array`);
  }
  if (job.queue !== undefined) validateQueue(job.queue);
  if (job.reserve_for !== undefined) {
    const r = job.reserve_for;
    if (!Number.isInteger(r) || r < 1 || r > 86400) {
      throw new ValidationError(`Invalid reserve_for ${r}: use whole seconds from 1 to 86400`);
    }
  }
  if (job.retry !== undefined && (!Number.isInteger(job.retry) || job.retry < -1)) {
    throw new ValidationError(
      `Invalid retry ${job.retry}: use -1 (dead on failure), 0 (discard) or a positive count`,
    );
  }
  if (job.backtrace !== undefined && (!Number.isInteger(job.backtrace) || job.backtrace < 0)) {
    throw new ValidationError(
      `Invalid backtrace ${job.backtrace}: use a whole number of lines, 0 or more`,
    );
  }
  if (job.at !== undefined && (typeof job.at !== "string" || Number.isNaN(Date.parse(job.at)))) {
    throw new ValidationError(`Invalid at ${JSON.stringify(job.at)}: use an RFC 3339 time`);
  }
  if (
    job.custom !== undefined &&
    (typeof job.custom !== "object" || job.custom === null || Array.isArray(job.custom))
  ) {
    throw new ValidationError("Invalid custom: it must be an object");
  }
  checkJson(job.args, "args", new Set());
  if (job.custom !== undefined) checkJson(job.custom, "custom", new Set());
}

/**
 * Refuses what `JSON.stringify` would throw on or silently change: BigInt,
 * cycles, functions, symbols, `undefined` in arrays, NaN and Infinity.
 */
function checkJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw notJson(path, `${value} becomes null in JSON`);
      return;
    case "bigint":
      throw notJson(path, "BigInt has no JSON form; send it as a string");
    case "undefined":
      throw notJson(path, "undefined becomes null in JSON");
    case "function":
    case "symbol":
      throw notJson(path, `a ${typeof value} cannot be sent as JSON`);
  }
  if (value === null) return;
  const object = value as Record<string, unknown>;
  if (typeof object.toJSON === "function") return;
  if (seen.has(object)) throw notJson(path, "it refers to itself (a cycle)");
  seen.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) checkJson(object[i], `${path}[${i}]`, seen);
  } else {
    for (const key in object) {
      const v = object[key];
      if (v !== undefined) checkJson(v, `${path}.${key}`, seen);
    }
  }
  seen.delete(object);
}

function notJson(path: string, why: string): ValidationError {
  return new ValidationError(`Invalid ${path}: ${why}`);
}

/**
 * A job as it is pushed: checked, in the namespace's queue, and with `retry`
 * always set. Faktory 1.9.4's PUSH decodes a job's retry through a pointer to
 * its global default, so one push with an explicit retry (say -1) silently
 * becomes the default for every later job without one.
 */
export function preparePush(job: JobPayload, namespace: string | undefined): JobPayload {
  validatePayload(job);
  if (namespace === undefined && job.retry !== undefined) return job;
  return {
    ...job,
    retry: job.retry ?? DEFAULT_RETRY,
    ...(namespace === undefined ? {} : { queue: namespaced(namespace, job.queue ?? "default") }),
  };
}

/** `VERB {json}` for jobs, refused past {@linkcode MAX_JOB_BYTES}. */
export function encodeJob(verb: string, payload: unknown): Uint8Array {
  const bytes = withJson(verb, payload);
  if (bytes.length > MAX_JOB_BYTES) {
    throw new ValidationError(
      `${verb} payload is ${bytes.length} bytes, over the ${MAX_JOB_BYTES}-byte limit: pass a reference (an id, a URL) instead of the data`,
    );
  }
  return bytes;
}

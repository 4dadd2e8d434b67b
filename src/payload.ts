/**
 * The job as it travels on the wire, and the checks that keep a push from
 * sending something the server would reject or silently change.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import { checkJson } from "./json.ts";
import { json, withJson } from "./protocol/command.ts";
import { toHex } from "./protocol/hex.ts";
import { checkOptions, checkValue, JOB_PAYLOAD } from "./rules.ts";
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
  /**
   * Arguments for the handler. They travel as JSON, so they must come back as
   * they went in: JSON values, plain objects, and objects with a `toJSON`
   * method such as `Date` (which arrives as its ISO string); a `Map`, `Set`,
   * typed array, `Error`, other class instance, BigInt, cycle or nesting
   * deeper than 100 levels is refused with a `ValidationError` naming its path.
   */
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
  if (randomAt === RANDOM.length) {
    crypto.getRandomValues(RANDOM);
    randomAt = 0;
  }
  return toHex(RANDOM, randomAt, randomAt += JID_BYTES);
}

const JID_BYTES = 12;
// Random bytes for 256 jids, drawn at once: a call into the platform's
// source per jid cost more than the rest of building the job (Node).
const RANDOM = new Uint8Array(JID_BYTES * 256);
let randomAt = RANDOM.length;

/** The server's default number of retries. */
export const DEFAULT_RETRY = 25;

/** Largest JSON payload a single job may have, in characters: past it, push is refused. */
export const MAX_JOB_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const ONE = { required: true }; // a job on its own: no object per push
const REQUIRED_FIELDS = ["jid", "jobtype", "args"] as const;

/**
 * Checks a job before it is sent against the rules of src/rules.ts, and its
 * `args` and `custom` against the JSON rule of src/json.ts; throws
 * {@linkcode ValidationError} naming the field to fix, after `place` if the
 * job is one of many (`jobs[3]` names `jobs[3].args[0]`, `jobs[3].queue`).
 */
export function validatePayload(job: JobPayload, place?: string): void {
  const prefix = place === undefined ? "" : `${place}.`;
  checkOptions(JOB_PAYLOAD, job, place ?? "job", place === undefined ? ONE : { ...ONE, prefix });
  for (const required of REQUIRED_FIELDS) {
    if (job[required] === undefined) {
      checkValue(JOB_PAYLOAD[required]!, undefined, prefix + required);
    }
  }
  checkJson(job.args, `${prefix}args`);
  if (job.custom !== undefined) checkJson(job.custom, `${prefix}custom`);
}

/**
 * A job as it is pushed: checked, in the namespace's queue, and with `retry`
 * always set. Faktory's PUSH (1.9.4 and 1.10.0 alike) decodes a job's retry
 * through a pointer to its global default, so one push with an explicit retry
 * (say -1) silently becomes the default for every later job without one.
 */
export function preparePush(job: JobPayload, namespace: string | undefined): JobPayload {
  validatePayload(job);
  return withDefaults(job, namespace);
}

/** {@linkcode preparePush} of a job already checked. */
function withDefaults(job: JobPayload, namespace: string | undefined): JobPayload {
  if (namespace === undefined && job.retry !== undefined) return job;
  return {
    ...job,
    retry: job.retry ?? DEFAULT_RETRY,
    ...(namespace === undefined ? {} : { queue: namespaced(namespace, job.queue ?? "default") }),
  };
}

/**
 * The JSON of {@linkcode preparePush}'s job, checked the same, without a
 * copy of the job when it is a plain object and there is no namespace: a
 * missing `retry` is written in front. A spread copy cost ~2 us more per
 * push to build and stringify on Node 20 than the job itself.
 */
export function pushJson(
  job: JobPayload,
  namespace: string | undefined,
  place?: string,
): string {
  validatePayload(job, place); // an object from here on
  if (
    namespace !== undefined || "toJSON" in job || Object.getPrototypeOf(job) !== Object.prototype
  ) {
    return json(withDefaults(job, namespace));
  }
  const text = json(job);
  if (job.retry !== undefined) return text;
  return text === "{}"
    ? `{"retry":${DEFAULT_RETRY}}`
    : `{"retry":${DEFAULT_RETRY},${text.slice(1)}`;
}

/**
 * For jobs that differ only in jid and args (a `performBulk` without
 * middleware), a writer of each one's JSON as {@linkcode pushJson} checks and
 * writes it, with the fields they share checked and written once, from
 * `template`: per job, only its args are checked and stringified. Building,
 * checking and stringifying every job whole cost 2.5-3.5 µs a job on Deno
 * and Bun, more than Go's client spends on a job altogether. Each `jid` must
 * be a fresh {@linkcode randomJid}; `path` names the args in an error.
 */
export function sameKindJson(
  template: JobPayload,
  namespace: string | undefined,
): (jid: string, args: unknown, path: string) => string {
  const { jid: _jid, args: _args, ...shared } = preparePush(template, namespace);
  const text = json(shared);
  const end = text === "{}" ? "}" : `,${text.slice(1)}`;
  return (jid, args, path) => {
    if (!Array.isArray(args)) {
      throw new ValidationError(`Invalid ${path} for ${template.jobtype}: args must be an array`);
    }
    checkJson(args, path);
    return `{"jid":"${jid}","args":${json(args)}${end}`;
  };
}

/** `VERB {json}` for jobs (`payload`, or its JSON), refused past {@linkcode MAX_JOB_BYTES}. */
export function encodeJob(verb: string, payload: unknown): Uint8Array {
  const bytes = typeof payload === "string"
    ? encoder.encode(`${verb} ${payload}\r\n`)
    : withJson(verb, payload);
  if (bytes.length > MAX_JOB_BYTES) {
    throw new ValidationError(
      `${verb} payload is ${bytes.length} bytes, over the ${MAX_JOB_BYTES}-byte limit: pass a reference (an id, a URL) instead of the data`,
    );
  }
  return bytes;
}

/**
 * The rules of every public option and argument, in one table: the type, the
 * range, and what to use instead. Every constructor and call checks what it
 * is given against them before it connects or sends, so a wrong value from
 * plain JavaScript is a `ValidationError` naming the option, never a
 * `TypeError`, a `RangeError`, or a job the server gets different from what
 * was meant.
 *
 * - An option set to `undefined` is not given; `null` is a wrong value.
 * - An unknown key that looks like a misspelt option (`concurency`,
 *   `reserve_for`, `queue` on a worker) is refused with the right name. Other
 *   unknown keys are ignored, so one object may carry several kinds of options.
 * - Job `args` and `custom` values follow the JSON rule of json.ts.
 *
 * @module
 */

import { isRecord, type Rule, type Rules } from "./check.ts";
import { isQueueName, isWord, QUEUE_HINT, WORD_HINT } from "./protocol/command.ts";
import { isStandardSchema } from "./schema.ts";

export { checkOptions, checkValue, type Rule, type Rules } from "./check.ts";

// ---- Kinds of values ---------------------------------------------------------

const DAY_MS = 86_400_000;
/** 100 years of 365.25 days, in seconds: the longest delay, expiry or lock. */
const CENTURY_S = 3_155_760_000;
/** The first and last times the server reads: RFC 3339 has four-digit years. */
export const FIRST_TIME = Date.parse("0000-01-01T00:00:00Z");
/** See {@linkcode FIRST_TIME}. */
export const LAST_TIME = Date.parse("9999-12-31T23:59:59.999Z");

const is = (test: (value: unknown) => boolean, hint: string): Rule => ({
  check: (value) => (test(value) ? undefined : hint),
});

/** A number from `min` to `max` (a whole one if `whole`); `tooBig` says what to use above `max`. */
function number(min: number, max: number, whole: boolean, hint: string, tooBig = hint): Rule {
  return {
    check: (v) =>
      typeof v !== "number" || !(whole ? Number.isInteger(v) : Number.isFinite(v)) || v < min
        ? hint
        : v > max
        ? tooBig
        : undefined,
  };
}

// Whole: timers take them, and Node's AbortSignal.timeout refuses fractions.
const ms = (min: number, max: number, note = "") =>
  number(min, max, true, `use a whole number of milliseconds from ${min} to ${max}${note}`);

const object = (hint: string, keys?: Rules): Rule =>
  keys === undefined ? is(isRecord, hint) : { ...is(isRecord, hint), keys };
/** An array of at least `min` items (holes count as `undefined`, which `every` would skip). */
const list = (item: (v: unknown) => boolean, hint: string, min = 0): Rule =>
  is((v) => Array.isArray(v) && v.length >= min && Array.from(v).every(item), hint);
const methods = (names: readonly string[]) => (v: unknown) =>
  typeof v === "object" && v !== null &&
  names.every((m) => typeof (v as Record<string, unknown>)[m] === "function");
const oneOf = (values: readonly string[]): Rule =>
  is((v) => values.includes(v as string), `use ${values.map((s) => `"${s}"`).join(" or ")}`);
const refuse = (hint: string): Rule => ({ check: () => hint });

const boolean = is((v) => typeof v === "boolean", "use true or false");
const text = is((v) => typeof v === "string", "use a string");
const functions = list((f) => typeof f === "function", "use an array of functions");
const fn = (hint: string) => is((v) => typeof v === "function", hint);
const queue = is(isQueueName, QUEUE_HINT);
const word = is(isWord, WORD_HINT);
const date: Rule = {
  check: (v) =>
    !(v instanceof Date) || Number.isNaN(v.getTime())
      ? "use a valid Date"
      : v.getTime() < FIRST_TIME || v.getTime() > LAST_TIME
      ? "use a Date from the year 0 to 9999"
      : undefined,
};
const host = is(
  (v) => isWord(v) && v.length <= 253 && !/[/@]/.test(v),
  "use a host name or IP address",
);
const logger = is(
  methods(["debug", "info", "warn", "error"]),
  "use a logger with debug, info, warn and error methods, such as console",
);

/** A jobtype: names the handler (the five places that need one use this). */
export const JOBTYPE: Rule = is(
  (v) => typeof v === "string" && v.trim() !== "",
  'use a non-empty string such as "SendEmail"',
);

/** Queues in order: the worker's, and `Client.fetch`'s. */
export const QUEUES: Rule = list(
  isQueueName,
  `use a non-empty array of queue names that ${QUEUE_HINT}`,
  1,
);

// ---- ClientOptions, and so every producer's and worker's ------------------------

/** TLS settings (`tls: { ... }`). */
const pem = (what: string) =>
  is((v) => typeof v === "string" && v !== "", `use ${what} in PEM form`);
const TLS: Rules = {
  caCerts: list(
    (c) => typeof c === "string" && c !== "",
    "use an array of PEM certificates (strings)",
  ),
  serverName: host,
  cert: pem("a certificate"),
  key: { ...pem("a private key"), secret: true },
};

/** `ClientOptions`. */
export const CLIENT_OPTIONS: Rules = {
  url: {
    ...is(isWord, "use a URL such as tcp://localhost:7419, without spaces or control characters"),
    secret: true,
  },
  hostname: host,
  port: number(1, 65535, true, "use a whole number from 1 to 65535"),
  password: { ...text, secret: true },
  username: { ...text, secret: true },
  namespace: queue,
  tls: {
    check: (v) =>
      typeof v === "boolean" || isRecord(v) ? undefined : "use true, false or { caCerts: [pem] }",
    keys: TLS,
  },
  labels: list((l) => typeof l === "string", "use an array of strings"),
  wid: word,
  connectTimeout: ms(1, DAY_MS, " (a day)"),
  commandTimeout: ms(1, DAY_MS, " (a day)"),
  backoff: object("use { base, max } in milliseconds", {
    base: ms(1, DAY_MS, " (a day)"),
    max: ms(1, DAY_MS, " (a day)"),
  }),
  runtime: is(
    methods(["connect", "env", "hostname", "pid", "rssKb", "onSignal"]),
    "use a Runtime adapter (connect, env, hostname, pid, rssKb and onSignal), or leave it out",
  ),
  logger,
  signal: is(
    (v) =>
      methods(["addEventListener", "removeEventListener"])(v) &&
      typeof (v as AbortSignal).aborted === "boolean",
    "use an AbortSignal",
  ),
};

// ---- Jobs: JobOptions, and the wire payload -----------------------------------

const RETRY = number(
  -1,
  300,
  true,
  "use a whole number of retries: -1 (dead at once), 0 (discard) or up to 300 (past ~309 the server's retry delay overflows)",
);
const RESERVE_FOR = number(1, 86_400, true, "use whole seconds from 1 to 86400");
const BACKTRACE = number(0, 1000, true, "use a whole number of lines from 0 to 1000");
const CUSTOM = object("use an object such as { key: value }");
const JID = is(
  (v) => isWord(v) && v.length >= 8,
  "use at least 8 characters without spaces or control characters, e.g. randomJid()",
);

/** `JobOptions` (and a `JobType`'s `schema`). */
export const JOB_OPTIONS: Rules = {
  jid: JID,
  jobtype: JOBTYPE,
  queue,
  retry: RETRY,
  once: boolean,
  at: date,
  in: number(
    0,
    CENTURY_S,
    false,
    "use a delay of 0 or more seconds",
    `use at most ${CENTURY_S} seconds (100 years)`,
  ),
  reserveFor: RESERVE_FOR,
  backtrace: BACKTRACE,
  custom: CUSTOM,
  batchId: word,
  tracked: boolean,
  uniqueFor: number(
    Number.MIN_VALUE,
    CENTURY_S,
    false,
    "use a positive number of seconds",
    `use at most ${CENTURY_S} seconds (100 years)`,
  ),
  uniqueUntil: oneOf(["success", "start"]),
  expiresAt: date,
  expiresIn: number(
    1,
    CENTURY_S,
    true,
    "use whole seconds, 1 or more",
    `use at most ${CENTURY_S} seconds (100 years)`,
  ),
  schema: is(isStandardSchema, "use a Standard Schema such as z.tuple([z.string()])"),
  parse: refuse("parse became schema: use schemaFrom(parse), or a zod, valibot or arktype schema"),
};

/** Options that apply to many jobs: a job type's, and `defaults`. A jid names one job. */
export const SHARED_JOB_OPTIONS: Rules = {
  ...JOB_OPTIONS,
  jid: refuse("a jid names one job: give it in the options of one perform"),
};

/** `JobPayload`, the job as it travels: what `Client.push` checks. */
export const JOB_PAYLOAD: Rules = {
  jid: JID,
  jobtype: JOBTYPE,
  args: is(Array.isArray, "args must be an array of arguments"),
  queue,
  reserve_for: RESERVE_FOR,
  // Only what the server could never read: it parses the rest itself.
  at: is(
    (v) => typeof v === "string" && Date.parse(v) >= FIRST_TIME && Date.parse(v) <= LAST_TIME,
    'use an RFC 3339 time from the year 0 to 9999, such as "2030-01-01T00:00:00Z"',
  ),
  retry: RETRY,
  backtrace: BACKTRACE,
  custom: CUSTOM,
};

// ---- Producers and workers -----------------------------------------------------

const POOL_SIZE = number(1, 1000, true, "use a whole number from 1 to 1000");

/** `ProducerOptions`. */
export const PRODUCER_OPTIONS: Rules = {
  ...CLIENT_OPTIONS,
  wid: refuse("a producer has no worker id: remove the wid option"),
  poolSize: POOL_SIZE,
  poolIdleTimeout: ms(1, 86_400_000),
  defaults: object("use job options such as { queue, retry }", SHARED_JOB_OPTIONS),
  middleware: functions,
};

/** `WorkerOptions`. */
export const WORKER_OPTIONS: Rules = {
  ...CLIENT_OPTIONS,
  queues: QUEUES,
  weights: is(
    (v) =>
      isRecord(v) && Object.keys(v).length > 0 &&
      Object.entries(v).every(([q, w]) =>
        isQueueName(q) && typeof w === "number" && w > 0 && w <= 1e6
      ),
    "use queue names with positive weights up to 1000000, such as { critical: 3, default: 1 }",
  ),
  concurrency: number(1, 10_000, true, "use a whole number from 1 to 10000"),
  fetchers: number(1, 1000, true, "use a whole number from 1 to 1000"),
  workerId: word,
  shutdownTimeout: ms(0, DAY_MS, " (a day)"),
  heartbeatInterval: ms(100, 60_000, "; the server expects a beat every 5 to 60 s"),
  reservationMargin: ms(0, DAY_MS, " (the longest reservation)"),
  handleSignals: boolean,
  abandonFetchOnStop: boolean,
  middleware: functions,
  context: fn("use a function that returns the handlers' values, such as () => ({ db })"),
  hooks: object("use { startup, quiet, shutdown } functions", {
    startup: fn("use a function"),
    quiet: fn("use a function"),
    shutdown: fn("use a function"),
  }),
  defaults: object("use job options such as { queue, retry }", SHARED_JOB_OPTIONS),
  pushMiddleware: functions,
};

// ---- Client method arguments ------------------------------------------------------

/** `Client.beat`'s options. */
export const BEAT_OPTIONS: Rules = {
  state: oneOf(["quiet", "terminate"]),
  rssKb: number(0, Number.MAX_SAFE_INTEGER, false, "use a number of KiB, 0 or more"),
};

/** `Client.send`'s arguments. */
export const SEND_ARGUMENTS: Rules = {
  command: is(
    (v) =>
      v instanceof Uint8Array && v.indexOf(13) === v.length - 2 && v.indexOf(10) === v.length - 1,
    "use one encoded command: bytes with one CR LF, at the end",
  ),
  verb: is((v) => typeof v === "string" && v !== "", 'use the command\'s name, such as "INFO"'),
  timeout: ms(1, DAY_MS, " (a day)"),
};

/** `JobFilter`, of `Client.requeue`, `discard` and `kill`. */
export const JOB_FILTER: Rules = {
  jids: is(Array.isArray, "pass an array of jids"),
  pattern: is(
    (v) => typeof v === "string" && v !== "",
    'use a non-empty Redis glob such as "*text*"',
  ),
  jobtype: JOBTYPE,
};

/** `BatchOptions`, of `Client.newBatch`. */
export const BATCH_OPTIONS: Rules = {
  description: text,
  success: object('use a job such as buildPayload({ jobtype: "Done" }, [])'),
  complete: object('use a job such as buildPayload({ jobtype: "Done" }, [])'),
  parentBid: word,
};

/** `TrackingUpdate`, of `Client.setTracking`. */
export const TRACKING_UPDATE: Rules = {
  jid: word,
  percent: number(0, 100, true, "use a whole number from 0 to 100"),
  description: text,
  reserveUntil: date,
};

// ---- ./testing ---------------------------------------------------------------------

/** `TestingOptions`. */
export const TESTING_OPTIONS: Rules = {
  defaults: object("use job options such as { queue, retry }", SHARED_JOB_OPTIONS),
  middleware: functions,
  jobMiddleware: functions,
  logger,
  wid: word,
  context: fn("use a function that returns the handlers' values, such as () => ({ db })"),
};

/** `DrainOptions`. */
export const DRAIN_OPTIONS: Rules = {
  queue: is(
    (v) => isQueueName(v) || (Array.isArray(v) && Array.from(v).every(isQueueName)),
    "use a queue name or an array of them",
  ),
  jobtype: is(
    (v) =>
      JOBTYPE.check(v) === undefined || (isRecord(v) && JOBTYPE.check(v.jobtype) === undefined),
    "use a job type or a jobtype name",
  ),
  limit: number(0, Number.MAX_SAFE_INTEGER, true, "use a whole number, 0 or more"),
};

// ---- ./otel ----------------------------------------------------------------------------

/** `TelemetryOptions`. */
export const TELEMETRY_OPTIONS: Rules = {
  tracerProvider: is(methods(["getTracer"]), "use a TracerProvider, such as the SDK's"),
  meterProvider: is(methods(["getMeter"]), "use a MeterProvider, such as the SDK's"),
  propagator: is(methods(["inject", "extract", "fields"]), "use a TextMapPropagator"),
};

// ---- The environment -----------------------------------------------------------------

/** Environment variables, as strings. */
export const ENV: Rules = {
  // Secret: a URL set here by mistake may hold a password.
  FAKTORY_PROVIDER: {
    ...is(
      (v) => typeof v === "string" && /^[A-Z_][A-Z0-9_]*$/.test(v),
      "it must name an environment variable such as FAKTORY_URL",
    ),
    secret: true,
  },
  FAKTORY_URL: CLIENT_OPTIONS.url!,
  FAKTORY_QUEUE: queue,
  FAKTORY_WORKER_ID: word,
  FAKTORY_POOL_SIZE: {
    check: (v) =>
      typeof v === "string" && /^\d+$/.test(v) ? POOL_SIZE.check(Number(v)) : POOL_SIZE.check(v),
  },
};

// Every public option and argument is checked at the boundary against one
// table of rules (src/rules.ts). Property tests (fast-check, fixed seeds) give
// each constructor and call values of wrong types and ranges, mixed with
// documented ones: a value is either accepted with its documented meaning, or
// refused with a ValidationError naming it before anything is sent; never a
// TypeError or RangeError. The `documented` predicates below are this test's
// own reading of the docs (README, JSDoc), not the rules table.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildPayload,
  Client,
  ConnectionError,
  defineJob,
  FaktoryError,
  jobCounts,
  loadRuntime,
  mergeOptions,
  Producer,
  queueSizes,
  randomJid,
  type Runtime,
  silentLogger,
  type Socket,
  ValidationError,
  Worker,
} from "../mod.ts";
import { envSettings } from "../src/settings.ts";
import { fake, TestProducer } from "../src/testing.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";

// ---- values ---------------------------------------------------------------------

/** Wrong types and ranges, and some right ones by accident. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withSparseArray: true,
    withTypedArray: true,
    maxDepth: 2,
  }),
  fc.constantFrom<unknown>(
    Number.NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    0.5,
    1,
    1.5,
    99,
    100,
    5_000,
    86_401,
    1e12,
    1e15,
    1e20,
    -1e20,
    Number.MAX_SAFE_INTEGER,
    "",
    " ",
    "a b",
    "x\n",
    "ns\x00",
    "default",
    "yes",
    "60",
    true,
    false,
    null,
    [],
    [""],
    ["a b"],
    ["default"],
    {},
    { base: 0 },
    new Date(Number.NaN),
    new Date("10000-01-01T00:00:00Z"),
    new Date(-62_198_755_200_000), // year -1
    () => 1,
    Symbol("s"),
    new Map(),
  ),
);

const ints = (min: number, max: number) => fc.integer({ min, max });
const nums = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const queueName = fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/);
const word = fc.stringMatching(/^[!-~]{1,20}$/);
const DAY = 86_400_000;

// What the docs say each option takes.
const isInt = (min: number, max: number) => (v: unknown) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isNum = (min: number, max: number) => (v: unknown) =>
  typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;
const isQueue = (v: unknown) => typeof v === "string" && /^[a-zA-Z0-9._-]+$/.test(v);
// deno-lint-ignore no-control-regex
const isWord = (v: unknown) => typeof v === "string" && /^[^\s\x00-\x1f\x7f]+$/.test(v);
const isJid = (v: unknown) => typeof v === "string" && v !== "";
const isRecord = (v: unknown) =>
  typeof v === "object" && v !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(v));
// Array.from: a hole is an undefined item, which every() would skip.
const isFunctions = (v: unknown) =>
  Array.isArray(v) && Array.from(v).every((f) => typeof f === "function");
const isDate = (v: unknown) =>
  v instanceof Date && v.getTime() >= Date.parse("0000-01-01T00:00:00Z") &&
  v.getTime() <= Date.parse("9999-12-31T23:59:59.999Z");
const isJobtype = (v: unknown) => typeof v === "string" && v.trim() !== "";
const isHost = (v: unknown) =>
  isWord(v) && (v as string).length <= 253 && !/[/@]/.test(v as string);
const isLogger = (v: unknown) =>
  typeof v === "object" && v !== null &&
  ["debug", "info", "warn", "error"].every((m) =>
    typeof (v as Record<string, unknown>)[m] === "function"
  );

/**
 * Whether the docs call a value valid: `undefined` for an object with keys the
 * docs do not name, which may be refused as a misspelt option or ignored.
 */
type Verdict = boolean | undefined;

/** An object judged key by key: a known key must hold a valid value. */
const recordOf = (known: Record<string, (v: unknown) => Verdict>) => (v: unknown): Verdict => {
  if (!isRecord(v)) return false;
  let verdict: Verdict = true;
  for (const [key, value] of Object.entries(v as object)) {
    if (value === undefined) continue;
    const check = known[key];
    const ok = check === undefined ? undefined : check(value);
    if (ok === false) return false;
    if (ok === undefined) verdict = undefined;
  }
  return verdict;
};

interface OptionCase {
  /** Whether the docs call the value valid. */
  readonly documented: (value: unknown) => Verdict;
  /** Documented values, mixed in with the hostile ones. */
  readonly values: fc.Arbitrary<unknown>;
}

const option = (
  documented: (v: unknown) => Verdict,
  values: fc.Arbitrary<unknown>,
): OptionCase => ({
  documented: (v) => v === undefined || documented(v), // undefined: not given
  values,
});
const ms = (min: number) => option(isInt(min, DAY), ints(min, DAY));

const realRuntime = await loadRuntime();

/** A runtime whose connects fail at once, counting them (test double: no network at all). */
function refusingRuntime(): Runtime & { connects: number } {
  const real = realRuntime;
  return {
    name: "refusing",
    connects: 0,
    connect() {
      this.connects++;
      return Promise.reject(new ConnectionError("test double: connection refused"));
    },
    env: () => undefined,
    hostname: () => real.hostname(),
    pid: () => real.pid(),
    rssKb: () => undefined,
    onSignal: () => () => {},
  };
}

const CLIENT: Record<string, OptionCase> = {
  url: option(
    (v) =>
      typeof v === "string" &&
      /^tcp(\+tls)?:\/\/[a-z0-9.-]+:([1-9]\d{0,4})(\/[a-zA-Z0-9._-]+)?$/.test(v) &&
      Number(/:(\d+)/.exec(v.slice(6))![1]) <= 65535,
    fc.constantFrom("tcp://localhost:7419", "tcp+tls://faktory.internal:7419/app."),
  ),
  hostname: option(
    isHost,
    fc.constantFrom("localhost", "127.0.0.1", "::1", "faktory.internal"),
  ),
  port: option(isInt(1, 65535), ints(1, 65535)),
  password: option((v) => typeof v === "string", fc.string()),
  namespace: option(isQueue, queueName),
  tls: option(
    (v) =>
      typeof v === "boolean" ||
      recordOf({
        caCerts: (c) =>
          Array.isArray(c) && Array.from(c).every((p) => typeof p === "string" && p !== ""),
        serverName: isHost,
      })(v),
    fc.constantFrom(true, false, {}, { caCerts: [] }, { serverName: "localhost" }),
  ),
  labels: option(
    (v) => Array.isArray(v) && Array.from(v).every((l) => typeof l === "string"),
    fc.array(fc.string()),
  ),
  wid: option(isWord, word),
  connectTimeout: ms(1),
  commandTimeout: ms(1),
  backoff: option(
    recordOf({ base: isInt(1, DAY), max: isInt(1, DAY) }),
    fc.record({ base: ints(1, DAY), max: ints(1, DAY) }, { requiredKeys: [] }),
  ),
  logger: option(isLogger, fc.constantFrom(silentLogger, console)),
  signal: option((v) => v instanceof AbortSignal, fc.constant(new AbortController().signal)),
};

const JOB: Record<string, OptionCase> = {
  queue: option(isQueue, queueName),
  retry: option(isInt(-1, 300), ints(-1, 300)),
  once: option((v) => typeof v === "boolean", fc.boolean()),
  at: option(isDate, fc.date({ min: new Date(0), max: new Date("9999-12-31T00:00:00Z") })),
  in: option(isNum(0, 3_155_760_000), nums(0, 3_155_760_000)),
  reserveFor: option(isInt(1, 86_400), ints(1, 86_400)),
  backtrace: option(isInt(0, 1000), ints(0, 1000)),
  batchId: option(isWord, word),
  tracked: option((v) => typeof v === "boolean", fc.boolean()),
  uniqueFor: option(
    (v) => typeof v === "number" && v > 0 && v <= 3_155_760_000,
    nums(1, 3_155_760_000),
  ),
  uniqueUntil: option((v) => v === "success" || v === "start", fc.constantFrom("success", "start")),
  expiresAt: option(isDate, fc.date({ min: new Date(0), max: new Date("9999-12-31T00:00:00Z") })),
  expiresIn: option(isInt(1, 3_155_760_000), ints(1, 3_155_760_000)),
  // Any object: its values follow the JSON rule (json_test.ts), named custom.x.
  custom: option(isRecord, fc.dictionary(fc.string(), fc.jsonValue())),
};
/** JOB's verdicts, for options nested in `defaults`. */
const JOB_KEYS = Object.fromEntries(
  Object.entries(JOB).map(([k, c]) => [k, c.documented]),
) as Record<string, (v: unknown) => Verdict>;
JOB_KEYS.jobtype = isJobtype;
// A Standard Schema (see schema_test.ts); `parse` became `schema` and is refused.
JOB_KEYS.schema = (v) =>
  (typeof v === "object" || typeof v === "function") && v !== null &&
  typeof (v as { "~standard"?: { validate?: unknown } })["~standard"]?.validate === "function";
JOB_KEYS.parse = () => false;

/** One option of a set at a time, hostile or documented. */
function oneOption(cases: Record<string, OptionCase>) {
  return fc.constantFrom(...Object.keys(cases)).chain((key) =>
    fc.tuple(fc.constant(key), fc.oneof(hostile, cases[key]!.values))
  );
}

/** Resolves with what `call` threw, or undefined. */
async function outcome(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (e) {
    return e;
  }
}

/**
 * A documented value must not be refused; any other must be refused with a
 * ValidationError whose message names it (`names`). Whatever else is thrown
 * must be a library error (a lost connection, the server's refusal).
 */
function judge(error: unknown, documented: Verdict, names: RegExp, what: string): void {
  if (documented === undefined) {
    if (error instanceof ValidationError) assert.match(error.message, names, what);
  } else if (documented) {
    assert.ok(!(error instanceof ValidationError), `${what} was refused: ${String(error)}`);
  } else {
    assert.ok(error instanceof ValidationError, `${what} was not refused: ${String(error)}`);
    assert.match(error.message, names, what);
  }
  if (error !== undefined && !(error instanceof ValidationError)) {
    assert.ok(error instanceof FaktoryError, `${what} threw ${String(error)}`);
  }
}

const SEED = 20261202;
const show = (v: unknown) => {
  try {
    return typeof v === "symbol" ? v.toString() : JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
};

/** Asserts `make` throws a ValidationError whose message matches `message`. */
function refuses(make: () => unknown, message: RegExp): void {
  assert.throws(make, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    assert.match(e.message, message);
    return true;
  });
}

// ---- the reported cases ---------------------------------------------------------------

describe("the reported cases are refused with a message that says what to use", () => {
  const url = "tcp://localhost:7419";
  const cases: [string, () => unknown, RegExp][] = [
    [
      "queues a string",
      () => new Worker({ url, queues: "default" as never }),
      /^Invalid queues "default": use a non-empty array of queue names/,
    ],
    [
      "heartbeatInterval 0",
      () => new Worker({ url, heartbeatInterval: 0 }),
      /^Invalid heartbeatInterval 0: use a whole number of milliseconds from 100 to 60000; the server expects/,
    ],
    [
      "reservationMargin 1e12",
      () => new Worker({ url, reservationMargin: 1e12 }),
      /^Invalid reservationMargin 1000000000000: use a whole number of milliseconds from 0 to 86400000/,
    ],
    [
      "labels a string",
      () => new Worker({ url, labels: "abc" as never }),
      /^Invalid labels "abc": use an array of strings$/,
    ],
    [
      "once a string",
      () => buildPayload({ jobtype: "J", once: "yes" as never }, []),
      /^Invalid once "yes": use true or false$/,
    ],
    [
      "custom a string",
      () => mergeOptions({ custom: "x" as never }),
      /^Invalid custom "x": use an object/,
    ],
    [
      "in 1e15",
      () => buildPayload({ jobtype: "J", in: 1e15 }, []),
      /^Invalid in 1000000000000000: use at most 3155760000 seconds \(100 years\)$/,
    ],
    [
      "at past 9999",
      () => buildPayload({ jobtype: "J", at: new Date("+010000-01-01T00:00:00Z") }, []),
      /^Invalid at "\+010000-01-01T00:00:00.000Z": use a Date from the year 0 to 9999$/,
    ],
    [
      "retry 1e20",
      () => buildPayload({ jobtype: "J", retry: 1e20 }, []),
      /^Invalid retry 100000000000000000000: use a whole number of retries/,
    ],
    [
      "namespace with a NUL",
      () => new Worker({ url, namespace: "ns\x00" }),
      /^Invalid namespace "ns\\u0000"/,
    ],
    [
      "URL with a control character",
      () => new Worker({ url: "tcp://localhost:7419/ns\x00" }),
      /^Invalid url: use a URL such as tcp:\/\/localhost:7419, without spaces or control characters$/,
    ],
    ["URL with a tab", () => new Worker({ url: "tcp://local\thost:7419" }), /^Invalid url: /],
    ["fetchers 0", () => new Worker({ url, fetchers: 0 }), /^Invalid fetchers 0/],
    [
      "a wid on a producer",
      () => Producer.connect({ url, wid: "w" }),
      /^Invalid wid "w": a producer has no worker id/,
    ],
    [
      "wid and workerId",
      () => new Worker({ url, wid: "a", workerId: "b" }),
      /^Give wid or workerId \(its old name\), not both$/,
    ],
    [
      "options not an object",
      () => new Worker("tcp://localhost:7419" as never),
      /^Invalid worker options "tcp:\/\/localhost:7419": pass an object$/,
    ],
    [
      "a Map as options",
      () => Client.connect(new Map() as never),
      /^Invalid client options a Map: pass an object$/,
    ],
    [
      "on an unknown event",
      () => new Worker({ url }).on("done" as never, () => {}),
      /^Invalid event "done": use "start", "success", "failure", "error", "state"$/,
    ],
    [
      "use a non-function",
      () => new Worker({ url }).use("x" as never),
      /^Middleware must be a function$/,
    ],
  ];
  for (const [what, make, message] of cases) {
    test(what, async () => {
      await assert.rejects(async () => await make(), (e: unknown) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.match(e.message, message);
        return true;
      });
    });
  }

  test("a misspelt option is refused with the right name; other unknown keys are ignored", () => {
    const misspelt: [() => unknown, RegExp][] = [
      [
        () => new Worker({ url, concurency: 5 } as never),
        /^Unknown option "concurency": use "concurrency"$/,
      ],
      [() => new Worker({ url, queue: "mail" } as never), /^Unknown option "queue": use "queues"$/],
      [
        () => new Worker({ url, heartbeat_interval: 1000 } as never),
        /^Unknown option "heartbeat_interval": use "heartbeatInterval"$/,
      ],
      [
        () => buildPayload({ jobtype: "J", reserve_for: 60 } as never, []),
        /^Unknown option "reserve_for": use "reserveFor"$/,
      ],
      [
        () => buildPayload({ jobtype: "J", queues: ["a"] } as never, []),
        /^Unknown option "queues": use "queue"$/,
      ],
      [
        () => new Worker({ url, backoff: { maxx: 1 } } as never),
        /^Unknown option "backoff.maxx": use "backoff.max"$/,
      ],
      [
        () => fake({ jobMiddlewares: [] } as never),
        /^Unknown option "jobMiddlewares": use "jobMiddleware"$/,
      ],
    ];
    // Twice each: the second time the answer comes from what the first one found.
    for (let round = 0; round < 2; round++) {
      for (const [make, message] of misspelt) refuses(make, message);
    }
    new Worker({ url, app: "billing", environment: "production" } as never);
  });

  test("jobCounts and queueSizes refuse what is not an INFO reply", () => {
    for (const info of [undefined, null, {}, { faktory: {} }, "info", new Map()]) {
      refuses(
        () => jobCounts(info as never),
        /^Invalid info .*: pass what Client.info\(\) resolves with$/,
      );
      refuses(() => queueSizes(info as never), /^Invalid info /);
    }
    const info = { faktory: { queues: {}, sets: {} } } as never;
    refuses(() => queueSizes(info, "a b"), /^Invalid namespace "a b"/);
  });

  test("FAKTORY_PROVIDER naming an unset variable is an error naming it", () => {
    refuses(
      () =>
        envSettings((name) => ({ FAKTORY_PROVIDER: "MY_FAKTORY" } as Record<string, string>)[name]),
      /^FAKTORY_PROVIDER names MY_FAKTORY, which is not set: set MY_FAKTORY to the server's URL, or unset FAKTORY_PROVIDER$/,
    );
    refuses(
      () =>
        envSettings((name) => ({ FAKTORY_URL: "tcp://a:1/\x01" } as Record<string, string>)[name]),
      /^Invalid FAKTORY_URL: use a URL such as/,
    );
  });

  test("a password never appears in the message of a refused option", () => {
    for (const password of [42, ["s3cr3t"]]) {
      refuses(
        () => new Worker({ url, password: password as never }),
        /^Invalid password: use a string$/,
      );
    }
    assert.throws(
      () => new Worker({ url: "tcp://:s3cr3t\n@localhost:7419" }),
      (e: Error) => e instanceof ValidationError && !e.message.includes("s3cr3t"),
    );
  });
});

// ---- constructors -----------------------------------------------------------------

describe("constructors check every option before connecting", () => {
  test("(test double: a runtime that refuses connects) Client.connect", async () => {
    await fc.assert(
      fc.asyncProperty(oneOption(CLIENT), async ([key, value]) => {
        const runtime = refusingRuntime();
        const options = { url: "tcp://localhost:7419", runtime, connectTimeout: 50, [key]: value };
        const error = await outcome(() => Client.connect(options));
        const what = `${key}: ${show(value)}`;
        judge(error, CLIENT[key]!.documented(value), new RegExp(`\\b${key}\\b`, "i"), what);
        if (error instanceof ValidationError) {
          assert.equal(runtime.connects, 0, `${what} connected`);
        }
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  test("(test double: a runtime that refuses connects) Producer.connect", async () => {
    const PRODUCER: Record<string, OptionCase> = {
      ...CLIENT,
      wid: option(() => false, word), // a producer has no worker id
      poolSize: option(isInt(1, 1000), ints(1, 1000)),
      poolIdleTimeout: option(isInt(1, 86_400_000), ints(1, 86_400_000)),
      defaults: option(recordOf(JOB_KEYS), fc.record({ queue: queueName, retry: ints(0, 25) })),
      middleware: option(
        isFunctions,
        fc.constant([async (_: unknown, next: () => Promise<void>) => await next()]),
      ),
    };
    await fc.assert(
      fc.asyncProperty(oneOption(PRODUCER), async ([key, value]) => {
        const runtime = refusingRuntime();
        const options = { url: "tcp://localhost:7419", runtime, [key]: value };
        const error = await outcome(() => Producer.connect(options));
        const what = `${key}: ${show(value)}`;
        // A nested refusal names the nested key: defaults.retry, backoff.base.
        judge(error, PRODUCER[key]!.documented(value), new RegExp(`\\b${key}\\b`, "i"), what);
        if (error instanceof ValidationError) {
          assert.equal(runtime.connects, 0, `${what} connected`);
        }
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  test("new Worker", () => {
    const WORKER: Record<string, OptionCase> = {
      ...CLIENT,
      queues: option(
        (v) => Array.isArray(v) && v.length > 0 && Array.from(v).every(isQueue),
        fc.array(queueName, { minLength: 1, maxLength: 3 }),
      ),
      weights: option(
        (v) =>
          isRecord(v) && Object.keys(v as object).length > 0 &&
          Object.entries(v as object).every(([q, w]) =>
            isQueue(q) && isNum(Number.MIN_VALUE, 1e6)(w)
          ),
        fc.dictionary(queueName, nums(0.001, 1e6), { minKeys: 1, maxKeys: 3 }),
      ),
      concurrency: option(isInt(1, 10_000), ints(1, 10_000)),
      fetchers: option(isInt(1, 1000), ints(1, 1000)),
      workerId: option(isWord, word),
      shutdownTimeout: ms(0),
      heartbeatInterval: option(isInt(100, 60_000), ints(100, 60_000)),
      reservationMargin: ms(0),
      handleSignals: option((v) => typeof v === "boolean", fc.boolean()),
      middleware: option(
        isFunctions,
        fc.constant([async (_: unknown, __: unknown, next: () => Promise<void>) => await next()]),
      ),
    };
    fc.assert(
      fc.property(oneOption(WORKER), ([key, value]) => {
        const runtime = refusingRuntime();
        let error: unknown;
        try {
          new Worker({ url: "tcp://localhost:7419", runtime, [key]: value });
        } catch (e) {
          error = e;
        }
        judge(
          error,
          WORKER[key]!.documented(value),
          new RegExp(`\\b${key}\\b`, "i"),
          `${key}: ${show(value)}`,
        );
        assert.equal(runtime.connects, 0);
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test("./testing: fake, TestProducer, drain, jobs, clear and jobsOf", async () => {
    const TESTING: Record<string, OptionCase> = {
      defaults: option(recordOf(JOB_KEYS), fc.record({ queue: queueName, retry: ints(0, 25) })),
      middleware: option(isFunctions, fc.constant([])),
      jobMiddleware: option(isFunctions, fc.constant([])),
      logger: option(isLogger, fc.constant(silentLogger)),
      wid: option(isWord, word),
    };
    const DRAIN: Record<string, OptionCase> = {
      queue: option(
        (v) => isQueue(v) || (Array.isArray(v) && v.every(isQueue)),
        fc.oneof(queueName, fc.array(queueName)),
      ),
      jobtype: option(
        (v) => isJobtype(v) || (isRecord(v) && isJobtype((v as { jobtype?: unknown }).jobtype)),
        fc.oneof(fc.constant("T"), fc.constant(defineJob("T"))),
      ),
      limit: option(isInt(0, Number.MAX_SAFE_INTEGER), ints(0, 100)),
    };
    fc.assert(
      fc.property(oneOption(TESTING), ([key, value]) => {
        const error = (() => {
          try {
            fake({ [key]: value });
          } catch (e) {
            return e;
          }
        })();
        judge(
          error,
          TESTING[key]!.documented(value),
          new RegExp(`\\b${key}\\b`),
          `${key}: ${show(value)}`,
        );
      }),
      { seed: SEED, numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(oneOption(DRAIN), async ([key, value]) => {
        const jobs = fake().register("T", () => {});
        await jobs.perform({ jobtype: "T" }, []);
        const error = await outcome(() => jobs.drain({ [key]: value }));
        judge(
          error,
          DRAIN[key]!.documented(value),
          new RegExp(`\\b${key}\\b`),
          `${key}: ${show(value)}`,
        );
      }),
      { seed: SEED, numRuns: 500 },
    );
    fc.assert(
      fc.property(hostile, (value) => {
        const jobs = fake();
        for (
          const [name, call, ok] of [
            [
              "mode",
              () => new TestProducer(value as "fake"),
              [undefined, "fake", "inline"].includes(value as string),
            ],
            ["queue", () => jobs.jobs(value as string), value === undefined || isQueue(value)],
            ["queue", () => jobs.clear(value as string), value === undefined || isQueue(value)],
            [
              "type",
              () => jobs.jobsOf(value as string),
              value !== undefined && DRAIN.jobtype!.documented(value),
            ],
          ] as const
        ) {
          let error: unknown;
          try {
            call();
          } catch (e) {
            error = e;
          }
          judge(error, ok, new RegExp(`\\b${name}\\b`), `${name}: ${show(value)}`);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  test("environment settings", () => {
    const ENV: Record<string, (v: string) => boolean> = {
      FAKTORY_PROVIDER: (v) => v === "" || /^[A-Z_][A-Z0-9_]*$/.test(v),
      FAKTORY_QUEUE: (v) => v === "" || isQueue(v),
      FAKTORY_WORKER_ID: (v) => v === "" || isWord(v),
      FAKTORY_POOL_SIZE: (v) => v === "" || (/^\d+$/.test(v) && isInt(1, 1000)(Number(v))),
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(ENV)),
        fc.oneof(fc.string(), fc.constantFrom("0", "1000", "1001", "1e3", " 4", "MY_URL", "a b")),
        (name, value) => {
          // A provider naming a variable that holds a URL: MY_URL does, others are unset.
          const vars: Record<string, string> = { MY_URL: "tcp://localhost:7419", [name]: value };
          let error: unknown;
          try {
            envSettings((n) => vars[n]);
          } catch (e) {
            error = e;
          }
          const documented = ENV[name]!(value) &&
            (name !== "FAKTORY_PROVIDER" || value === "" || value === "MY_URL");
          judge(
            error,
            documented,
            new RegExp(name === "FAKTORY_PROVIDER" ? "FAKTORY_PROVIDER" : name),
            `${name}=${show(value)}`,
          );
        },
      ),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

// ---- jobs and client calls, on a real server ---------------------------------------

describe("job options and Client calls on a real Faktory: a refused value is never sent", () => {
  let server: FaktoryServer;
  /** Socket writes so far, of every connection made with `counted`. */
  let writes = 0;
  const counted: Runtime = (() => {
    const real = realRuntime;
    return {
      name: "counted",
      async connect(options) {
        const socket = await real.connect(options);
        const wrapped: Socket = {
          read: () => socket.read(),
          write: (bytes) => {
            writes++;
            return socket.write(bytes);
          },
          close: () => socket.close(),
          closed: socket.closed,
          [Symbol.asyncDispose]: () => socket[Symbol.asyncDispose](),
        };
        return wrapped;
      },
      env: (name) => real.env(name),
      hostname: () => real.hostname(),
      pid: () => real.pid(),
      rssKb: () => real.rssKb(),
      onSignal: (signal, handler) => real.onSignal(signal, handler),
    };
  })();
  let client: Client;
  let producer: Producer;
  before(async () => {
    server = await startFaktory();
    client = await Client.connect({
      url: server.url,
      logger: silentLogger,
      runtime: counted,
      wid: "opt-1",
    });
    producer = await Producer.connect({
      url: server.url,
      logger: silentLogger,
      runtime: counted,
      poolSize: 1,
    });
  });
  after(async () => {
    await producer.close();
    await client.close();
    await server.stop();
  });

  /** Runs `call`; a refusal must name `names` and write nothing. */
  async function check(call: () => unknown, documented: Verdict, names: RegExp, what: string) {
    const before = writes;
    const error = await outcome(call);
    judge(error, documented, names, what);
    if (error instanceof ValidationError) assert.equal(writes, before, `${what} was sent`);
  }

  test("Producer.perform, buildPayload, mergeOptions and defineJob take each job option", async () => {
    await fc.assert(
      fc.asyncProperty(oneOption(JOB), async ([key, value]) => {
        const what = `${key}: ${show(value)}`;
        const documented = JOB[key]!.documented(value);
        // uniqueUntil needs uniqueFor; custom values are judged by the JSON rule (json_test.ts).
        const base = {
          jobtype: "Opt",
          queue: "opt",
          ...(key === "uniqueUntil" ? { uniqueFor: 60 } : {}),
        };
        const names = new RegExp(`\\b${key}\\b`);
        await check(() => buildPayload({ ...base, [key]: value }, []), documented, names, what);
        await check(() => mergeOptions(base, { [key]: value }), documented, names, what);
        await check(() => defineJob("Opt", { [key]: value }), documented, names, what);
        // A custom object's values may still break the JSON rule: refused as custom.x.
        const pushed = key === "custom" && documented ? undefined : documented;
        await check(() => producer.perform({ ...base, [key]: value }, []), pushed, names, what);
        await check(() => producer.perform([base, { [key]: value }], []), pushed, names, what);
      }),
      { seed: SEED, numRuns: 300 },
    );
    await check(
      () => producer.perform("Opt" as never, []),
      false,
      /options/,
      "perform with a string",
    );
    await check(
      () => producer.perform({ jobtype: "Opt" }, "x" as never),
      false,
      /args/,
      "args a string",
    );
    await check(
      () => producer.performBulk({ jobtype: "Opt" }, 5 as never),
      false,
      /performBulk/,
      "argsList 5",
    );
  });

  test("a worker that fails to start rejects run(), is stopped, and closes its connections", async () => {
    const connections = async () => (await client.info()).server.connections;
    const before = await connections();
    const runtime: Runtime = {
      ...counted,
      connect: (o) => counted.connect(o),
      onSignal: () => {
        throw new Error("no signals here");
      },
    };
    const worker = new Worker({
      url: server.url,
      logger: silentLogger,
      runtime,
      handleSignals: true,
    });
    await assert.rejects(worker.run(), /no signals here/);
    assert.equal(worker.status, "stopped");
    await worker.stop(); // resolves at once
    await until(async () => (await connections()) === before, 5_000, "connections closed");
  });

  test("an array with a hole is refused, not skipped", async () => {
    const job = { jid: randomJid(), jobtype: "Opt", args: [] };
    // deno-lint-ignore no-sparse-arrays
    const holed = <T>(item: T) => [, item] as T[];
    await check(() => client.pushBulk(holed(job)), false, /\bjobs\[0\]/, "pushBulk");
    await check(
      () => client.requeue("dead", { jids: holed("abcdefgh") }),
      false,
      /\bjid\b/,
      "jids",
    );
    await check(() => client.pauseQueues(holed("a")), false, /\bqueue\b/, "pauseQueues");
    await check(() => client.fetch(holed("a")), false, /\bqueues\b/, "fetch");
    refuses(() => new Worker({ queues: holed("a") }), /^Invalid queues/);
    refuses(() => new Worker({ labels: holed("a") }), /^Invalid labels/);
    refuses(() => fake({ middleware: holed(async () => {}) }), /^Invalid middleware/);
  });

  test("Client calls take each argument", async () => {
    const queues = (v: unknown) => Array.isArray(v) && v.length > 0 && Array.from(v).every(isQueue);
    const sets = ["retries", "scheduled", "dead"];
    const future = (v: unknown) => isDate(v) && (v as Date).getTime() > Date.now();
    const filter = recordOf({
      jids: (v) => Array.isArray(v) && Array.from(v).every(isWord),
      pattern: (v) => typeof v === "string" && v !== "",
      jobtype: isJobtype,
    });
    const calls: [string, RegExp, (v: never) => unknown, (v: unknown) => Verdict][] = [
      // A reported jid travels in JSON: any non-empty string, spaces included.
      ["ack", /\bjid\b/, (v) => client.ack(v), isJid],
      ["fail", /\bjid\b/, (v) => client.fail(v, new Error("x")), isJid],
      ["getTracking", /\bjid\b/, (v) => client.getTracking(v), isWord],
      ["openBatch", /batch id/, (v) => client.openBatch(v), isWord],
      ["batchStatus", /batch id/, (v) => client.batchStatus(v), isWord],
      ["queueLatency", /queue/, (v) => client.queueLatency(v), queues],
      ["resumeQueues", /queue/, (v) => client.resumeQueues(v), (v) => v === "*" || queues(v)],
      [
        "requeue set",
        /\bset\b/,
        (v) => client.requeue(v, { jids: [] }),
        (v) => sets.includes(v as string),
      ],
      ["requeue filter", /filter|jid|pattern|jobtype/, (v) => client.requeue("dead", v), (v) => {
        const { jids, pattern, jobtype } = (isRecord(v) ? v : {}) as Record<string, unknown>;
        const given = [jids, pattern, jobtype].filter((x) => x !== undefined).length;
        // jids alone, or pattern and/or jobtype
        return given === 0 || (jids !== undefined && given > 1) ? false : filter(v);
      }],
      [
        "beat",
        /beat options|\bstate\b|\brssKb\b/,
        (v) => client.beat(v),
        recordOf({
          state: (s) => s === "quiet" || s === "terminate",
          rssKb: isNum(0, Number.MAX_SAFE_INTEGER),
        }),
      ],
      [
        "setTracking",
        /tracking update|\bjid\b|percent|description|reserveUntil/,
        (v) => client.setTracking(v),
        (v) => {
          const { jid, percent, description, reserveUntil } = (isRecord(v) ? v : {}) as Record<
            string,
            unknown
          >;
          if (
            !isWord(jid) || [percent, description, reserveUntil].every((x) => x === undefined)
          ) return false;
          return recordOf({
            jid: isWord,
            percent: isInt(0, 100),
            description: (d) => typeof d === "string",
            reserveUntil: future,
          })(v);
        },
      ],
      [
        "newBatch",
        /batch options|description|success|complete|parentBid|\bjid\b|jobtype|args/,
        (v) => client.newBatch(v),
        recordOf({
          description: (d) => typeof d === "string",
          success: () => false, // never a whole valid job here
          complete: () => false,
          parentBid: isWord,
        }),
      ],
      ["push", /\bjob\b|\bjid\b|jobtype|args/, (v) => client.push(v), () => false],
      [
        "pushBulk",
        /pushBulk|\bjobs\[\d+\]|\bjid\b|jobtype|args/,
        (v) => client.pushBulk(v),
        (v) => Array.isArray(v) && v.length === 0,
      ],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...calls),
        hostile,
        async ([name, names, call, documented], value) => {
          await check(
            () => call(value as never),
            documented(value),
            names,
            `${name}(${show(value)})`,
          );
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
    // A job pushed with one hostile field.
    const FIELDS: Record<string, (v: unknown) => boolean> = {
      jid: (v) => isWord(v) && (v as string).length >= 8,
      jobtype: isJobtype,
      queue: isQueue,
      retry: isInt(-1, 300),
      reserve_for: isInt(1, 86_400),
      backtrace: isInt(0, 1000),
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(FIELDS)), hostile, async (field, value) => {
        const job = { jid: randomJid(), jobtype: "Opt", args: [], queue: "opt", [field]: value };
        await check(
          () => client.push(job as never),
          FIELDS[field]!(value),
          new RegExp(`\\b${field}\\b`),
          `push ${field}: ${show(value)}`,
        );
      }),
      { seed: SEED, numRuns: 300 },
    );
    // FETCH with documented queues waits ~2 s on an empty queue: only wrong ones here.
    await fc.assert(
      fc.asyncProperty(hostile.filter((v) => !queues(v)), async (value) => {
        await check(() => client.fetch(value as never), false, /queue/, `fetch(${show(value)})`);
      }),
      { seed: SEED, numRuns: 200 },
    );
    const info = new TextEncoder().encode("INFO\r\n");
    await check(() => client.send(info, "INFO"), true, /x/, "send INFO");
    await check(
      () => client.send(new TextEncoder().encode("INFO\r\nFLUSH\r\n"), "INFO"),
      false,
      /command/,
      "two commands",
    );
    await check(() => client.send("INFO\r\n" as never, "INFO"), false, /command/, "a string");
    await check(() => client.send(info, "" as never), false, /verb/, "no verb");
    await check(() => client.send(info, "INFO", 0), false, /timeout/, "timeout 0");
  });
});

/**
 * Faults in user code never break the worker, on a real Faktory: whatever a
 * handler or its middleware throws or returns, the job is FAILed with a
 * string errtype and message (a property test, fast-check with fixed seeds,
 * over arbitrary values and hostile objects: throwing getters, Symbol names,
 * Proxies); listeners and loggers that throw or reject change nothing; a
 * handler that ignores its abort still counts in `busy`; and a worker
 * process whose logger is broken runs, stops and exits by itself.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import {
  Client,
  defineJob,
  type JobMiddleware,
  type Logger,
  randomJid,
  schemaFrom,
  silentLogger,
  Worker,
  type WorkerOptions,
} from "../mod.ts";
import { describeFailure } from "../src/failure.ts";
import { exitWithin, runtimeCommand, startChild } from "./harness/child.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
process.on("unhandledRejection", onUnhandled);
after(() => void process.off("unhandledRejection", onUnhandled));

// ---- hostile thrown values -----------------------------------------------------------

const boom = (what: string) => () => {
  throw new Error(`${what} threw`);
};

/** A Proxy whose every trap throws, over `target`. */
const allTrapsThrow = (target: object) =>
  new Proxy(target, new Proxy({}, { get: (_, trap) => boom(`trap ${String(trap)}`) }));

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** What a property of a thrown error is made into. */
type Twist = { readonly kind: "keep" | "symbol" | "throws" | "proxy" } | {
  readonly kind: "value";
  readonly value: unknown;
};

const twist: fc.Arbitrary<Twist> = fc.oneof(
  fc.constantFrom<Twist>({ kind: "keep" }, { kind: "symbol" }, { kind: "throws" }, {
    kind: "proxy",
  }),
  fc.anything({ maxDepth: 1, withBigInt: true }).map((value): Twist => ({ kind: "value", value })),
);

function twisted(target: object, key: string, t: Twist): void {
  const define = (d: PropertyDescriptor) => {
    try {
      Object.defineProperty(target, key, { configurable: true, ...d });
    } catch { /* Bun's test runner refuses to change an Error once its name is a Symbol */ }
  };
  if (t.kind === "symbol") define({ value: Symbol(key) });
  else if (t.kind === "throws") define({ get: boom(key) });
  else if (t.kind === "proxy") define({ value: allTrapsThrow({}) });
  else if (t.kind === "value") define({ value: t.value });
}

/**
 * A value to throw, in a box: fast-check looks into the values it makes
 * (`in`, to find a clone method) and prints them, which a Proxy that throws
 * on every trap would break. The box prints as how the value was made.
 */
class Thrown {
  constructor(readonly value: unknown, readonly made: string) {}
  [fc.toStringMethod](): string {
    return this.made;
  }
}

/** Errors, and objects posing as errors or as failure details, with twisted properties. */
const hostileObject: fc.Arbitrary<Thrown> = fc.record({
  base: fc.constantFrom("Error", "TypeError", "plain", "null-prototype", "function", "details"),
  message: fc.string(),
  name: twist,
  messageTwist: twist,
  stack: twist,
  backtrace: fc.oneof(
    fc.constant<unknown>(undefined),
    fc.sparseArray(fc.oneof(fc.string(), fc.anything({ maxDepth: 0 })), { maxLength: 60 }),
    fc.constant<unknown>("a proxy whose traps throw"),
  ),
}).map((r) => {
  const target: Record<string, unknown> = r.base === "Error"
    ? new Error(r.message) as unknown as Record<string, unknown>
    : r.base === "TypeError"
    ? new TypeError(r.message) as unknown as Record<string, unknown>
    : r.base === "null-prototype"
    ? Object.create(null)
    : r.base === "function"
    ? (function thrown() {}) as unknown as Record<string, unknown>
    : r.base === "details"
    ? {
      errtype: "Details",
      message: r.message,
      backtrace: r.backtrace === "a proxy whose traps throw" ? allTrapsThrow([]) : r.backtrace,
    }
    : { message: r.message };
  twisted(target, "name", r.name);
  twisted(target, "message", r.messageTwist);
  twisted(target, "stack", r.stack);
  return new Thrown(target, fc.stringify(r));
});

const oddObjects: fc.Arbitrary<Thrown> = fc.constantFrom<[string, () => unknown]>(
  ["a Proxy whose traps throw", () => allTrapsThrow({})],
  ["an Error behind a Proxy whose traps throw", () => allTrapsThrow(new Error("behind"))],
  ["a revoked Proxy", () => revoked()],
  ["throwing toString and valueOf", () => ({ toString: boom("toString"), valueOf: boom("v") })],
  ["throwing toPrimitive and toJSON", () => ({
    [Symbol.toPrimitive]: boom("toPrimitive"),
    toJSON: boom("toJSON"),
  })],
  ["a cause behind a Proxy", () => Object.assign(new Error("cause"), { cause: allTrapsThrow({}) })],
  [
    "a throwing constructor getter",
    () => Object.defineProperty(new Error("x"), "constructor", { get: boom("constructor") }),
  ],
  [
    "a function with a throwing name",
    () => Object.defineProperty(() => {}, "name", { get: boom("name") }),
  ],
  ["a thenable whose then throws", () => ({ then: boom("then") })],
  [
    "a frozen error named by a Symbol",
    () => {
      const error = Object.assign(new RangeError("frozen"), { name: Symbol("n") });
      try {
        Object.freeze(error);
      } catch { /* Bun's test runner cannot: it formats the stack with the name first */ }
      return error;
    },
  ],
  ["a cycle", () => {
    const cyclic: Record<string, unknown> = { message: undefined };
    cyclic.self = cyclic;
    return cyclic;
  }],
  ["a 100,000-character message", () => new Error("x".repeat(100_000))],
  ["a Symbol", () => Symbol("thrown")],
  ["a BigInt", () => 10n ** 30n],
).map(([made, make]) => new Thrown(make(), made));

/** Anything that can be thrown: fast-check's values, hostile errors and odd objects. */
const thrown: fc.Arbitrary<Thrown> = fc.oneof(
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
  }).map((value) => new Thrown(value, fc.stringify(value))),
  hostileObject,
  oddObjects,
);

// ---- describeFailure, alone ----------------------------------------------------------

test("describeFailure is total: any thrown value gives a string errtype and message and string lines, trimmed", () => {
  fc.assert(
    fc.property(thrown, ({ value }) => {
      const d = describeFailure(value);
      assert.equal(typeof d.errtype, "string");
      assert.ok(d.errtype.length >= 1 && d.errtype.length <= 100, d.errtype);
      assert.equal(typeof d.message, "string");
      assert.ok(d.message.length <= 1000);
      assert.ok(Array.isArray(d.backtrace) && d.backtrace.length <= 50);
      for (let i = 0; i < d.backtrace.length; i++) {
        assert.ok(i in d.backtrace, "no hole");
        assert.ok(typeof d.backtrace[i] === "string" && d.backtrace[i]!.length <= 1000);
      }
      assert.deepEqual(JSON.parse(JSON.stringify(d)), d, "it travels as JSON");
    }),
    { seed: 12, numRuns: 2_000 },
  );
});

test("describeFailure keeps what it can read: an Error's name, message and frames; details with holes", () => {
  const error = new TypeError("bad input");
  const d = describeFailure(error);
  assert.equal(d.errtype, "TypeError");
  assert.equal(d.message, "bad input");
  assert.ok(
    d.backtrace.length > 0 && d.backtrace.every((l) => l.startsWith("at ")),
    d.backtrace[0],
  );

  const unreadable = Object.defineProperty(new Error("x"), "message", { get: boom("message") });
  assert.deepEqual(
    { ...describeFailure(unreadable), backtrace: [] },
    { errtype: "Error", message: "The error's message could not be read", backtrace: [] },
  );
  const symbolName = Object.assign(new Error("named"), { name: Symbol("n") });
  assert.equal(describeFailure(symbolName).errtype, "Error");
  assert.equal(describeFailure(symbolName).message, "named");
  // deno-lint-ignore no-sparse-arrays
  const details = { errtype: "E", message: "m", backtrace: ["a", , "c", 5] };
  assert.deepEqual(describeFailure(details).backtrace, ["a", "", "c", "5"]);
  for (const proxy of [allTrapsThrow({}), revoked()]) {
    assert.deepEqual(describeFailure(proxy), {
      errtype: "Error",
      message: "The error's message could not be read",
      backtrace: [],
    });
  }
  const unprintable = { toString: boom("toString"), toJSON: boom("toJSON") };
  assert.equal(describeFailure(unprintable).message, "Unprintable object");
  assert.equal(describeFailure({ code: 42 }).message, '{"code":42}');
  assert.equal(describeFailure(null).message, "null");
  assert.equal(describeFailure(Symbol("s")).message, "Symbol(s)");
});

// ---- on a real server ----------------------------------------------------------------

let server: FaktoryServer;
let client: Client;
before(async () => {
  server = await startFaktory();
  client = await Client.connect({ url: server.url, logger: silentLogger });
});
after(async () => {
  await client?.close();
  await server?.stop();
});

/** A started worker on the test server; `stop()` it. */
function startWorker(options: WorkerOptions, setup: (w: Worker) => void) {
  const worker = new Worker({ url: server.url, logger: silentLogger, ...options });
  setup(worker);
  const running = worker.run();
  return Object.assign(worker, {
    async stop() {
      await Worker.prototype.stop.call(worker);
      await running;
    },
  });
}

/** How a case hands its value to the worker. */
const HOW = [
  "throw",
  "reject",
  "thenable whose then throws",
  "thenable that rejects",
  "middleware throws",
  "middleware returns a thenable whose then throws",
  "the job type's schema throws",
] as const;
type How = (typeof HOW)[number];

describe("faults in user code, on a real Faktory", () => {
  test("whatever a handler or its middleware throws, the job is FAILed with a string errtype and message, and the worker lives on", async () => {
    const queue = "thrown";
    const cases = new Map<string, { value: unknown; how: How }>();
    const failed = new Set<string>();
    const succeeded = new Set<string>();
    const thenableThrowing = (value: unknown) => ({
      then() {
        throw value;
      },
    });
    const middleware: JobMiddleware = (job, _ctx, next) => {
      const c = cases.get(job.jid);
      if (c?.how === "middleware throws") throw c.value;
      if (c?.how === "middleware returns a thenable whose then throws") {
        return thenableThrowing(c.value) as unknown as Promise<void>;
      }
      return next();
    };
    const worker = startWorker(
      { queues: [queue], concurrency: 5, middleware: [middleware] },
      (w) => {
        w.register("Throw", (job) => {
          const { value, how } = cases.get(job.jid)!;
          if (how === "throw") throw value;
          if (how === "reject") return Promise.reject(value);
          if (how === "thenable whose then throws") return thenableThrowing(value);
          return { then: (_: unknown, reject: (e: unknown) => void) => reject(value) };
        });
        w.register("Fine", () => {});
        w.register(
          defineJob("Parse", {
            schema: schemaFrom((args): [string] => {
              throw cases.get(args[0] as string)!.value;
            }),
          }),
          () => {},
        );
        w.on("failure", (job) => void failed.add(job.jid));
        w.on("success", (job) => void succeeded.add(job.jid));
      },
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(thrown, fc.constantFrom(...HOW)), { minLength: 1, maxLength: 12 }),
          async (list) => {
            const jids = list.map(([{ value }, how]) => {
              const jid = randomJid();
              cases.set(jid, { value, how });
              return jid;
            });
            for (const jid of jids) {
              const parse = cases.get(jid)!.how === "the job type's schema throws";
              await client.push({ jid, jobtype: parse ? "Parse" : "Throw", args: [jid], queue });
            }
            await until(() => jids.every((j) => failed.has(j)), 20_000, "every job FAILed");
            const retries = new Map((await jobsIn(server, "retries")).map((j) => [j.jid, j]));
            for (const jid of jids) {
              const failure = retries.get(jid)?.failure as Record<string, unknown> | undefined;
              assert.ok(
                failure !== undefined,
                `${jid} (${cases.get(jid)!.how}) is in the retry set`,
              );
              assert.equal(typeof failure.errtype, "string");
              assert.ok((failure.errtype as string).length > 0);
              assert.equal(typeof failure.message, "string");
              if (cases.get(jid)!.how === "the job type's schema throws") {
                assert.equal(failure.errtype, "InvalidArgumentsError");
              }
            }
          },
        ),
        { seed: 4_242, numRuns: 12 },
      );
      assert.equal(worker.status, "running");
      assert.deepEqual(unhandled, []);
      // It still runs jobs.
      const fine = randomJid();
      await client.push({ jid: fine, jobtype: "Fine", args: [], queue });
      await until(() => succeeded.has(fine), 10_000, "a job that succeeds ACKed");
    } finally {
      await worker.stop();
    }
    assert.deepEqual(unhandled, []);
  });

  test("a job another client pushed with a space in its jid is run and ACKed, one that fails FAILed", async () => {
    const queue = "odd-jids";
    const outcomes = new Map<string, string>();
    const worker = startWorker({ queues: [queue] }, (w) => {
      w.register("Odd", (job) => {
        if (job.args[0] === "fail") throw new Error("odd failure");
      });
      w.on("success", (job) => void outcomes.set(job.jid, "ACK"));
      w.on("failure", (job) => void outcomes.set(job.jid, "FAIL"));
    });
    // Our own pushes refuse such jids; the server and other clients take them.
    const ok = `order 42 ${randomJid()}`, bad = `order 43 ${randomJid()}`;
    try {
      for (const [jid, arg] of [[ok, "ok"], [bad, "fail"]]) {
        const job = { jid, jobtype: "Odd", args: [arg], queue, retry: 3 };
        await client.send(new TextEncoder().encode(`PUSH ${JSON.stringify(job)}\r\n`), "PUSH");
      }
      await until(() => outcomes.size === 2, 10_000, "both jobs reported");
    } finally {
      await worker.stop();
    }
    assert.equal(outcomes.get(ok), "ACK");
    assert.equal(outcomes.get(bad), "FAIL");
    const retried = (await jobsIn(server, "retries")).map((j) => j.jid);
    assert.ok(retried.includes(bad) && !retried.includes(ok), JSON.stringify(retried));
  });

  test("middleware that returns no promise, or calls next and returns nothing: the job is ACKed", async () => {
    const queue = "mw-plain";
    const succeeded: string[] = [];
    const ran: string[] = [];
    const worker = startWorker({ queues: [queue], concurrency: 2 }, (w) => {
      // Plain JavaScript: the first returns undefined after calling next, the second at once.
      const callsNext = (...[, , next]: Parameters<JobMiddleware>) => void next();
      w.use(callsNext as unknown as JobMiddleware);
      w.use((() => undefined) as unknown as JobMiddleware);
      w.register("Never", (job) => void ran.push(job.jid));
      w.on("success", (job) => void succeeded.push(job.jid));
    });
    const jid = randomJid();
    try {
      await client.push({ jid, jobtype: "Never", args: [], queue });
      await until(() => succeeded.includes(jid), 10_000, "the job ACKed");
    } finally {
      await worker.stop();
    }
    assert.deepEqual(ran, [], "the inner middleware did not call next");
    assert.deepEqual(unhandled, []);
  });

  test("listeners and a logger that throw, reject or return hostile thenables change no outcome", async () => {
    const queue = "listeners";
    let calls = 0;
    const broken = [
      boom("listener"),
      () => Promise.reject(allTrapsThrow({})),
      () => ({ then: boom("then") }),
      () => {
        throw revoked();
      },
    ];
    // Each call breaks in the next way; a rejected promise is returned, as an async logger would.
    const method = (): void => {
      calls++;
      return broken[calls % broken.length]!() as unknown as void;
    };
    const logger: Logger = { debug: method, info: method, warn: method, error: method };
    const outcomes: string[] = [];
    const worker = startWorker({ queues: [queue], logger }, (w) => {
      w.register("Ok", (_job, { logger }) => logger.info("a broken logger in a handler"));
      w.register("Fail", () => {
        throw new Error("fails");
      });
      for (const event of ["start", "success", "failure", "error", "state"] as const) {
        for (const listener of broken) w.on(event, listener as () => void);
      }
      w.on("success", (job) => void outcomes.push(`ACK ${job.jobtype}`));
      w.on("failure", (job) => void outcomes.push(`FAIL ${job.jobtype}`));
    });
    try {
      for (const jobtype of ["Ok", "Fail", "Ok", "Fail"]) {
        await client.push({ jid: randomJid(), jobtype, args: [], queue });
      }
      await until(() => outcomes.length === 4, 10_000, "four outcomes");
    } finally {
      await worker.stop();
    }
    assert.deepEqual(outcomes.sort(), ["ACK Ok", "ACK Ok", "FAIL Fail", "FAIL Fail"]);
    assert.ok(calls > 0, "the logger was called");
    assert.deepEqual(unhandled, []);
  });

  test("a handler that ignores its abort is FAILed at its reservation margin, and holds its slot in busy until it settles", async () => {
    const queue = "hung";
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const failed: string[] = [];
    // A 60 s reservation less a 59 s margin: the signal aborts after 1 s.
    const worker = startWorker({ queues: [queue], reservationMargin: 59_000 }, (w) => {
      w.register("Hang", () => gate);
      w.register("Never", () => ({ then() {} })); // a thenable that never settles
      w.on("failure", (job) => void failed.push(job.jid));
    });
    const hung = randomJid();
    const never = randomJid();
    let stopping = 0;
    try {
      await client.push({ jid: hung, jobtype: "Hang", args: [], queue, reserve_for: 60 });
      await client.push({ jid: never, jobtype: "Never", args: [], queue, reserve_for: 60 });
      await until(() => failed.length === 2, 15_000, "both FAILed");
      assert.equal(worker.busy, 2, "both still hold their slots");
      const retries = await jobsIn(server, "retries");
      for (const jid of [hung, never]) {
        const failure = retries.find((j) => j.jid === jid)?.failure as Record<string, unknown>;
        assert.equal(failure?.errtype, "JobTimeoutError");
      }
      release();
      await until(() => worker.busy === 1, 10_000, "the released handler's slot free");
    } finally {
      stopping = Date.now();
      await worker.stop();
    }
    const ms = Date.now() - stopping;
    assert.ok(ms < 5_000, `stop took ${ms} ms: it does not wait for a handler that never settles`);
    assert.deepEqual(unhandled, []);
  });

  for (const fault of ["throw", "reject", "thenable", "proxy"]) {
    test(`a worker process whose logger is broken (${fault}) runs, stops and exits by itself`, async () => {
      const queue = `faulty-logger-${fault}`;
      const [command, args] = runtimeCommand("tests/fixtures/faulty_logger_worker.ts");
      await using child = startChild(command, args, {
        FAKTORY_URL: server.url,
        FAKTORY_QUEUE: queue,
        LOGGER_FAULT: fault,
        OK_JOBS: "3",
        FAILING_JOBS: "2",
      });
      const exit = await exitWithin(child, 30_000);
      assert.deepEqual(exit, { code: 0, signal: null }, child.output());
      const lines = child.lines;
      assert.equal(lines.filter((l) => l.startsWith("ACK ")).length, 3, child.output());
      assert.equal(lines.filter((l) => l.startsWith("FAIL ")).length, 2, child.output());
      assert.equal(lines.at(-1), "STOPPED", child.output());
    });
  }
});

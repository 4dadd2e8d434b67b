/**
 * A worker against a hostile or broken server's FETCH replies, from the
 * scripted fake of tests/harness/hostile.ts (a real Faktory cannot be made to
 * send them): garbage and error replies are paced by the backoff instead of
 * spinning, a fetched job with a jid is always run or FAILed whatever its
 * other fields hold (a property test, fast-check with a fixed seed), a
 * reservation longer than setTimeout's limit does not time the job out at
 * once, and a stop during the first connect ends it at once.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { FaktoryError, type Job, type Logger, silentLogger, Worker } from "../mod.ts";
import { afterHello, type HostileServer, silent, startHostile } from "./harness/hostile.ts";
import { until } from "./harness/until.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
process.on("unhandledRejection", onUnhandled);
after(() => void process.off("unhandledRejection", onUnhandled));

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A bulk reply holding `text`. */
const bulk = (text: string) => `$${encoder.encode(text).length}\r\n${text}\r\n`;

/** What the worker sent back about each job, by jid. */
interface Reports {
  readonly acked: Set<string>;
  readonly failed: Map<string, { errtype: string; message: string }>;
}

/** A fake Faktory: FETCH answers with `reply()`'s RESP text (`undefined`: the jobs queued). */
interface FetchDouble extends Reports, AsyncDisposable {
  readonly server: HostileServer;
  readonly fetches: number;
  /** Queues job JSON texts for the next FETCHes. */
  enqueue(...jobs: string[]): void;
}

/**
 * Starts the fake. With no job queued, a FETCH waits as Faktory's does (up
 * to ~1.2 s here, less than its 2 s so a stop is quick) and answers `$-1`.
 */
async function fetchDouble(
  reply: () => string | undefined = () => undefined,
): Promise<FetchDouble> {
  const queued: string[] = [];
  const waiting = new Set<() => void>();
  const acked = new Set<string>();
  const failed = new Map<string, { errtype: string; message: string }>();
  let fetches = 0;
  const server = await startHostile(afterHello(async (peer, line) => {
    const verb = line.split(" ", 1)[0];
    if (verb === "FETCH") {
      fetches++;
      const text = reply();
      if (text !== undefined) return await peer.write(text);
      if (queued.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(wake, 1_200);
          function wake() {
            clearTimeout(timer);
            waiting.delete(wake);
            resolve();
          }
          waiting.add(wake);
        });
      }
      const job = queued.shift();
      return await peer.write(job === undefined ? "$-1\r\n" : bulk(job));
    }
    if (verb === "ACK") acked.add(JSON.parse(line.slice(4)).jid);
    if (verb === "FAIL") {
      const fail = JSON.parse(line.slice(5));
      failed.set(fail.jid, fail);
    }
    if (verb === "END") return peer.close();
    await peer.write("+OK\r\n");
  }));
  return {
    server,
    acked,
    failed,
    get fetches() {
      return fetches;
    },
    enqueue(...jobs) {
      queued.push(...jobs);
      for (const wake of [...waiting]) wake();
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
}

/** A logger that counts its lines. */
function countingLogger(): Logger & { lines: number } {
  const logger = {
    lines: 0,
    debug: () => void logger.lines++,
    info: () => void logger.lines++,
    warn: () => void logger.lines++,
    error: () => void logger.lines++,
  };
  return logger;
}

// ---- garbage and error replies ------------------------------------------------------

const WINDOW_MS = 1_500;
/** Two fetchers backing off from 100 ms make ~12 FETCHes in the window; a spin makes thousands. */
const MAX_FETCHES = 40;

const garbage: [name: string, reply: string, errors: boolean][] = [
  ["a number", bulk("12345"), true],
  ["an array", bulk("[1,2,3]"), true],
  ["a string", bulk('"str"'), true],
  ["true", bulk("true"), true],
  ["an empty object", bulk("{}"), true],
  ["a jid that is a number", bulk('{"jid":5}'), true],
  ["an empty jid", bulk('{"jid":"","jobtype":"Run","args":[]}'), true],
  ["a job without jobtype", bulk('{"jid":"no-jobtype-1","args":[]}'), true],
  ["args that are an object", bulk('{"jid":"bad-args-01","jobtype":"Run","args":{}}'), true],
  ["invalid JSON", bulk("{not json"), true],
  ["a 4 MB JSON array", bulk(`[${"0,".repeat(2_000_000)}0]`), true],
  ["JSON nested 100,000 deep", bulk(`${"[".repeat(100_000)}${"]".repeat(100_000)}`), true],
  ["-ERR shutdown in progress (the connection stays open)", "-ERR shutdown in progress\r\n", true],
  ["-ERR of another kind", "-ERR something broke\r\n", true],
  ["-NOTUNIQUE", "-NOTUNIQUE job not unique\r\n", true],
  ["an invalid reply (the connection is closed)", "*3\r\n", true],
  ["JSON null, at once", bulk("null"), false],
  ["an empty reply at once, not after ~2 s", "$-1\r\n", false],
];

for (const [name, reply, errors] of garbage) {
  test(`hostile FETCH (test double: ${name}): paced by the backoff, not a spin`, async () => {
    await using double = await fetchDouble(() => reply);
    const logger = countingLogger();
    const worker = new Worker({
      url: double.server.url(),
      queues: ["q"],
      concurrency: 2,
      fetchers: 2,
      logger,
    });
    const seen: unknown[] = [];
    worker.on("error", (e) => void seen.push(e));
    worker.register("Run", () => {});
    const started = Date.now();
    const running = worker.run();
    await until(() => double.fetches >= 2, 10_000, "a second FETCH: it keeps trying");
    await sleep(WINDOW_MS - (Date.now() - started));
    await worker.stop();
    await running;
    const ms = Date.now() - started;
    assert.ok(double.fetches <= MAX_FETCHES, `${double.fetches} FETCHes in ${ms} ms`);
    assert.ok(logger.lines <= MAX_FETCHES + 10, `${logger.lines} log lines`);
    if (errors) assert.ok(seen.length >= 1, "reported as errors");
    else assert.equal(seen.length, 0, "no errors: an empty reply is none");
    assert.ok(seen.every((e) => e instanceof FaktoryError), seen.join("\n"));
    assert.deepEqual(unhandled, []);
  });
}

test("hostile FETCH (test double: -ERR shutdown in progress, then a close): paced", async () => {
  await using server = await startHostile(afterHello(async (peer, line) => {
    if (line.startsWith("FETCH")) {
      await peer.write("-ERR shutdown in progress\r\n");
      peer.close();
    } else await peer.write("+OK\r\n");
  }));
  const worker = new Worker({
    url: server.url(),
    queues: ["q"],
    fetchers: 2,
    logger: silentLogger,
  });
  worker.on("error", () => {});
  const running = worker.run();
  await sleep(WINDOW_MS);
  await worker.stop();
  await running;
  // Each FETCH costs a connection here.
  assert.ok(server.accepted <= MAX_FETCHES, `${server.accepted} connections in ${WINDOW_MS} ms`);
  assert.deepEqual(unhandled, []);
});

// ---- jobs with hostile fields ------------------------------------------------------

/** JSON texts of wrong values, some JSON.stringify cannot write (1e999 parses as Infinity). */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    "1e999",
    "-1e999",
    "-0",
    "0",
    "-1",
    "0.5",
    "59",
    "86401",
    "2147484",
    "1e12",
    '"1800"',
    '"default"',
    '"ns.q"',
    '"2030-01-01T00:00:00Z"',
    '"not a time"',
    "null",
    "[]",
    "[null]",
    '{"toString":1,"valueOf":2}',
    '{"__proto__":{"polluted":true}}',
    '{"bid":{"x":1}}',
    '{"remaining":"x","retry_count":[],"message":5,"backtrace":[1,null,"a"]}',
    `"${"x".repeat(100_000)}"`,
  ),
);

/** Fields of a job, each left out, given a wrong value, or (for jobtype and args) a good one. */
const FIELDS = [
  "queue",
  "reserve_for",
  "at",
  "retry",
  "backtrace",
  "custom",
  "failure",
  "created_at",
  "enqueued_at",
  "jobtype",
  "args",
] as const;

const hostileJob = fc.record(
  Object.fromEntries(FIELDS.map((f) => [f, fc.option(hostileJson, { freq: 2 })])),
) as fc.Arbitrary<Record<(typeof FIELDS)[number], string | null>>;

/** Whether each getter of `job` returns what its type says. */
function gettersHold(job: Job): boolean {
  const date = (d: unknown) => d === undefined || (d instanceof Date && !Number.isNaN(d.getTime()));
  const strings = (v: unknown) => v === undefined || typeof v === "string";
  const f = job.failure;
  return typeof job.queue === "string" && date(job.at) && date(job.createdAt) &&
    date(job.enqueuedAt) && job.reserveFor >= 60 && job.reserveFor <= 86_400 &&
    Number.isInteger(job.retry) && Number.isInteger(job.backtrace) &&
    typeof job.custom === "object" && job.custom !== null && !Array.isArray(job.custom) &&
    strings(job.batchId) && Number.isInteger(job.retriesRemaining) && job.retriesRemaining >= 0 &&
    (f === undefined || (
      [f.retry_count, f.remaining].every((n) => n === undefined || Number.isInteger(n)) &&
      [f.failed_at, f.next_at, f.message, f.errtype].every(strings) &&
      (f.backtrace === undefined || f.backtrace.every((l) => typeof l === "string"))
    ));
}

for (const namespace of [undefined, "ns."]) {
  test(
    `hostile jobs (test double: wrong field values${
      namespace ? ", with a namespace" : ""
    }): each job with a jid is run or FAILed, and Job's getters hold their types`,
    async () => {
      await using double = await fetchDouble();
      const worker = new Worker({
        url: double.server.url(),
        queues: ["q"],
        concurrency: 4,
        fetchers: 2,
        logger: silentLogger,
        ...(namespace ? { namespace } : {}),
      });
      worker.on("error", () => {});
      const ran = new Set<string>();
      const broken: string[] = [];
      worker.register("Run", (job) => {
        ran.add(job.jid);
        if (!gettersHold(job)) broken.push(JSON.stringify(job.payload).slice(0, 300));
      });
      const running = worker.run();
      let n = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(hostileJob, { minLength: 1, maxLength: 8 }), async (jobs) => {
            const jids = jobs.map(() => `hostile-${namespace ?? ""}${n++}`);
            double.enqueue(...jobs.map((fields, i) => {
              const parts = [`"jid":"${jids[i]}"`, '"jobtype":"Run"', '"args":[]'];
              for (const [key, value] of Object.entries(fields)) {
                if (value !== null) parts.push(`${JSON.stringify(key)}:${value}`);
              }
              return `{${parts.join(",")}}`; // a later key wins, as in JSON.parse
            }));
            await until(
              () => jids.every((jid) => double.acked.has(jid) || double.failed.has(jid)),
              15_000,
              "every job ACKed or FAILed",
            );
            assert.deepEqual(broken, []);
            for (const [i, fields] of jobs.entries()) {
              const jid = jids[i]!;
              const runnable = (fields.jobtype === null || fields.jobtype === '"Run"') &&
                (fields.args === null || fields.args.startsWith("["));
              if (runnable) {
                assert.ok(ran.has(jid) && double.acked.has(jid), `${jid} ran and was ACKed`);
              } else {
                const fail = double.failed.get(jid);
                assert.ok(fail !== undefined, `${jid} was FAILed`);
                assert.ok(!ran.has(jid), `${jid} did not run`);
                assert.match(fail.errtype, /^(ProtocolError|UnknownJobTypeError)$/);
              }
            }
          }),
          { seed: 20_240_612, numRuns: 25 },
        );
        assert.equal(worker.status, "running", "the worker is still running");
      } finally {
        await worker.stop();
        await running;
      }
      assert.deepEqual(unhandled, []);
    },
  );
}

// ---- reservations past setTimeout's limit --------------------------------------------

test("hostile jobs (test double: reserve_for past 2^31-1 ms): the job runs, it is not timed out at once", async () => {
  await using double = await fetchDouble();
  const worker = new Worker({ url: double.server.url(), queues: ["q"], logger: silentLogger });
  const aborted: string[] = [];
  worker.register("Slow", async (job, { signal }) => {
    await sleep(1_000);
    if (signal.aborted) aborted.push(job.jid);
  });
  const running = worker.run();
  // 2147490 s less the 5 s margin is past 2^31-1 ms; the server itself allows up to 86400 s.
  const reservations = ["2147490", "10000000", "1e12", "1e999"];
  const jids = reservations.map((_, i) => `long-reserve-${i}`);
  double.enqueue(
    ...reservations.map((r, i) =>
      `{"jid":"${jids[i]}","jobtype":"Slow","args":[],"reserve_for":${r}}`
    ),
  );
  try {
    await until(() => jids.every((jid) => double.acked.has(jid) || double.failed.has(jid)));
  } finally {
    await worker.stop();
    await running;
  }
  assert.deepEqual([...double.failed.keys()], [], "none was failed");
  assert.deepEqual(aborted, [], "no signal aborted");
  assert.deepEqual(jids.map((jid) => double.acked.has(jid)), jids.map(() => true));
});

// ---- stop during the first connect ------------------------------------------------

test("stop during the first connect (test double: a server that never greets) ends it at once, and run resolves", async () => {
  await using server = await startHostile(silent);
  const worker = new Worker({ url: server.url(), connectTimeout: 30_000, logger: silentLogger });
  const running = worker.run();
  await until(() => server.accepted >= 1, 10_000, "the connect under way");
  const started = performance.now();
  await worker.stop();
  await running;
  const ms = performance.now() - started;
  assert.ok(ms < 2_000, `stop took ${ms} ms`);
  assert.equal(worker.status, "stopped");
});

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  defineJob,
  type JobContext,
  Producer,
  randomJid,
  schemaFrom,
  silentLogger,
  ValidationError,
  Worker,
  type WorkerOptions,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { startProxy } from "./harness/proxy.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";

let server: FaktoryServer;
let client: Client;
before(async () => {
  server = await startFaktory();
  client = await Client.connect({ url: server.url, logger: silentLogger });
});
after(async () => {
  await client.close();
  await server.stop();
});

/** A worker on the test server, started; stop it with `await using`. */
function startWorker(options: WorkerOptions, setup: (w: Worker) => void) {
  const worker = new Worker({
    url: server.url,
    logger: silentLogger,
    heartbeatInterval: 1000,
    ...options,
  });
  setup(worker);
  const running = worker.run();
  return Object.assign(worker, {
    running,
    async [Symbol.asyncDispose]() {
      await worker.stop();
      await running;
    },
  });
}

const queueSize = async (queue: string) => (await client.info()).faktory.queues[queue] ?? 0;

describe("worker on a real Faktory", () => {
  test("push, fetch, run and ACK", async () => {
    const Greet = defineJob<[name: string, n: number]>("Greet", { queue: "w-ack" });
    const seen: [string, number][] = [];
    await using producer = await Producer.connect({
      url: server.url,
      logger: silentLogger,
      poolSize: 2,
    });
    await using worker = startWorker({ queues: ["w-ack"] }, (w) =>
      w.register(Greet, (job) => {
        seen.push([...job.args]);
      }));
    const acked: string[] = [];
    worker.on("success", (job) => acked.push(job.jid));
    const jid = await producer.perform(Greet, ["ada", 1]);
    await until(() => acked.includes(jid));
    assert.deepEqual(seen, [["ada", 1]]);
    assert.equal(await queueSize("w-ack"), 0);
  });

  test("a thrown error FAILs the job with errtype, message and backtrace in the retry set", async () => {
    class Kaboom extends Error {
      override name = "Kaboom";
    }
    await using worker = startWorker({ queues: ["w-fail"] }, (w) =>
      w.register("Explode", () => {
        throw new Kaboom("it blew up");
      }));
    const failed: unknown[] = [];
    worker.on("failure", (_job, error) => failed.push(error));
    const jid = await client.push({
      jid: crypto.randomUUID(),
      jobtype: "Explode",
      args: [],
      queue: "w-fail",
    });
    await until(() => failed.length === 1);
    const retry = (await jobsIn(server, "retries")).find((j) => j.jid === jid);
    const failure = retry?.failure as Record<string, unknown>;
    assert.equal(failure.errtype, "Kaboom");
    assert.equal(failure.message, "it blew up");
    assert.ok(
      (failure.backtrace as string[]).some((line) => line.includes("worker_test")),
      "stack lines",
    );
  });

  test("retry: 0 discards a failed job; once sends it to the dead set", async () => {
    await using producer = await Producer.connect({
      url: server.url,
      logger: silentLogger,
      poolSize: 1,
    });
    await using worker = startWorker({ queues: ["w-retry"] }, (w) =>
      w.register("Fails", () => {
        throw new Error("no");
      }));
    let failures = 0;
    worker.on("failure", () => failures++);
    const discarded = await producer.perform({ jobtype: "Fails", queue: "w-retry", retry: 0 }, []);
    const dead = await producer.perform({ jobtype: "Fails", queue: "w-retry", once: true }, []);
    await until(() => failures === 2);
    const retries = (await jobsIn(server, "retries")).map((j) => j.jid);
    const deadSet = (await jobsIn(server, "dead")).map((j) => j.jid);
    assert.ok(
      !retries.includes(discarded) && !deadSet.includes(discarded),
      "retry: 0 is discarded",
    );
    assert.ok(deadSet.includes(dead) && !retries.includes(dead), "once goes straight to dead");
  });

  test("in and at schedule a job: it waits in the scheduled set, then runs", async () => {
    await using producer = await Producer.connect({
      url: server.url,
      logger: silentLogger,
      poolSize: 1,
    });
    const ran: number[] = [];
    await using worker = startWorker(
      { queues: ["w-sched"] },
      (w) => w.register("Later", () => void ran.push(Date.now())),
    );
    void worker;
    const pushedAt = Date.now();
    const jid = await producer.perform({ jobtype: "Later", queue: "w-sched", in: 1 }, []);
    const atJid = await producer.perform({
      jobtype: "Later",
      queue: "w-sched",
      at: new Date(Date.now() + 3_600_000),
    }, []);
    const scheduled = await jobsIn(server, "scheduled");
    assert.ok(scheduled.some((j) => j.jid === jid), "the job waits in the scheduled set");
    const later = scheduled.find((j) => j.jid === atJid);
    assert.ok(
      Math.abs(Date.parse(String(later?.at)) - (pushedAt + 3_600_000)) < 5_000,
      "at is kept",
    );
    await until(() => ran.length === 1, 15_000);
    assert.ok(ran[0]! - pushedAt >= 1000, "not before its time");
  });

  test("reserve_for is enforced: the signal aborts and the job is FAILed as timed out", async () => {
    let signal: AbortSignal | undefined;
    await using worker = startWorker(
      { queues: ["w-reserve"], reservationMargin: 59_000 },
      (w) =>
        w.register("Slow", (_job, ctx: JobContext) => {
          signal = ctx.signal;
          return new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
          );
        }),
    );
    const failures: unknown[] = [];
    worker.on("failure", (_job, e) => failures.push(e));
    const jid = await client.push({
      jid: crypto.randomUUID(),
      jobtype: "Slow",
      args: [],
      queue: "w-reserve",
      reserve_for: 60,
    });
    await until(() => failures.length === 1, 5_000);
    assert.ok(signal?.aborted);
    const retry = (await jobsIn(server, "retries")).find((j) => j.jid === jid);
    assert.equal((retry?.failure as Record<string, unknown>).errtype, "JobTimeoutError");
  });

  test("unknown jobtypes and refused arguments are FAILed with clear errtypes", async () => {
    const Typed = defineJob("Typed", {
      schema: schemaFrom((args): [number] => {
        if (typeof args[0] !== "number") throw new TypeError("a number is required");
        return args as [number];
      }),
    });
    await using worker = startWorker({ queues: ["w-unknown"] }, (w) => w.register(Typed, () => {}));
    let failures = 0;
    worker.on("failure", () => failures++);
    const unknown = await client.push({
      jid: crypto.randomUUID(),
      jobtype: "Nobody",
      args: [],
      queue: "w-unknown",
    });
    const bad = await client.push({
      jid: crypto.randomUUID(),
      jobtype: "Typed",
      args: ["x"],
      queue: "w-unknown",
    });
    await until(() => failures === 2);
    const retries = await jobsIn(server, "retries");
    const errtype = (jid: string) =>
      (retries.find((j) => j.jid === jid)?.failure as Record<string, unknown>).errtype;
    assert.equal(errtype(unknown), "UnknownJobTypeError");
    assert.equal(errtype(bad), "InvalidArgumentsError");
  });

  test("N slots run N jobs at once", async () => {
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await using worker = startWorker(
      { queues: ["w-conc"], concurrency: 5, fetchers: 2 },
      (w) =>
        w.register("Wait", async () => {
          peak = Math.max(peak, ++running);
          await gate;
          running--;
        }),
    );
    let done = 0;
    worker.on("success", () => done++);
    for (let i = 0; i < 8; i++) {
      await client.push({ jid: crypto.randomUUID(), jobtype: "Wait", args: [], queue: "w-conc" });
    }
    await until(() => running === 5);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(peak, 5, "never more than the concurrency");
    release();
    await until(() => done === 8);
  });

  test("strict queue order: the first queue is drained first", async () => {
    for (let i = 0; i < 3; i++) {
      await client.push({
        jid: crypto.randomUUID(),
        jobtype: "Order",
        args: ["low"],
        queue: "w-low",
      });
    }
    for (let i = 0; i < 3; i++) {
      await client.push({
        jid: crypto.randomUUID(),
        jobtype: "Order",
        args: ["high"],
        queue: "w-high",
      });
    }
    const order: unknown[] = [];
    await using worker = startWorker(
      { queues: ["w-high", "w-low"], concurrency: 1, fetchers: 1 },
      (w) => w.register("Order", (job) => void order.push(job.args[0])),
    );
    void worker;
    await until(() => order.length === 6);
    assert.deepEqual(order, ["high", "high", "high", "low", "low", "low"]);
  });

  test("weighted queues fetch from every queue", async () => {
    for (let i = 0; i < 10; i++) {
      await client.push({ jid: crypto.randomUUID(), jobtype: "W", args: ["a"], queue: "w-wa" });
      await client.push({ jid: crypto.randomUUID(), jobtype: "W", args: ["b"], queue: "w-wb" });
    }
    const order: unknown[] = [];
    await using worker = startWorker({
      weights: { "w-wa": 1, "w-wb": 1 },
      concurrency: 1,
      fetchers: 1,
    }, (w) => w.register("W", (job) => void order.push(job.args[0])));
    void worker;
    await until(() => order.length === 20);
    assert.notDeepEqual(order.slice(0, 10), Array(10).fill("a"), "not strictly ordered");
  });

  test("the namespace prefixes queues on push and fetch", async () => {
    const url = `${server.url}/tenant.`;
    await using producer = await Producer.connect({ url, logger: silentLogger, poolSize: 1 });
    await producer.perform({ jobtype: "Ns", queue: "w-ns" }, [1]);
    assert.equal(await queueSize("tenant.w-ns"), 1);
    const seen: string[] = [];
    await using worker = new Worker({ url, queues: ["w-ns"], logger: silentLogger });
    worker.register("Ns", (job) => void seen.push(job.queue));
    const running = worker.run();
    await until(() => seen.length === 1);
    assert.deepEqual(seen, ["w-ns"]);
    await worker.stop();
    await running;
  });

  test("quiet stops fetching; running jobs finish", async () => {
    let done = 0;
    await using worker = startWorker(
      { queues: ["w-quiet"] },
      (w) => w.register("Q", () => void done++),
    );
    await client.push({ jid: crypto.randomUUID(), jobtype: "Q", args: [], queue: "w-quiet" });
    await until(() => done === 1);
    worker.quiet();
    assert.equal(worker.status, "quiet");
    await new Promise((r) => setTimeout(r, 2_500)); // let a FETCH already sent come back
    await client.push({ jid: crypto.randomUUID(), jobtype: "Q", args: [], queue: "w-quiet" });
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(done, 1);
    assert.equal(await queueSize("w-quiet"), 1);
  });

  test("stop lets short jobs finish, then aborts and FAILs the rest; run resolves", async () => {
    const signals: AbortSignal[] = [];
    let quick = 0;
    const worker = new Worker({
      url: server.url,
      queues: ["w-stop"],
      concurrency: 4,
      shutdownTimeout: 500,
      logger: silentLogger,
    });
    worker.register("Quick", async () => {
      await new Promise((r) => setTimeout(r, 100));
      quick++;
    });
    worker.register("Forever", (_job, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {}); // ignores its signal
    });
    const running = worker.run();
    const forever = await client.push({
      jid: crypto.randomUUID(),
      jobtype: "Forever",
      args: [],
      queue: "w-stop",
    });
    await client.push({ jid: crypto.randomUUID(), jobtype: "Quick", args: [], queue: "w-stop" });
    await until(() => signals.length === 1 && worker.busy === 2);
    const start = Date.now();
    await worker.stop();
    await running;
    assert.equal(worker.status, "stopped");
    assert.equal(quick, 1, "the short job finished");
    assert.ok(signals[0]!.aborted, "the long job's signal aborted");
    assert.ok(Date.now() - start < 5_000);
    const retry = (await jobsIn(server, "retries")).find((j) => j.jid === forever);
    assert.equal((retry?.failure as Record<string, unknown>).errtype, "WorkerStoppedError");
  });

  test("a finished job's ACK goes ahead of its fetcher's next FETCH, in the same write", async () => {
    await using proxy = await startProxy(server);
    const sent: string[] = [];
    proxy.tap((chunk) => sent.push(new TextDecoder().decode(chunk)));
    const jids = await Promise.all(
      [1, 2, 3].map(() =>
        client.push({ jid: randomJid(), jobtype: "Noop", args: [], queue: "w-carry" })
      ),
    );
    const acked: string[] = [];
    {
      await using worker = new Worker({
        url: proxy.url,
        logger: silentLogger,
        queues: ["w-carry"],
        concurrency: 1,
      });
      worker.register("Noop", () => {});
      worker.on("success", (job) => acked.push(job.jid));
      const running = worker.run();
      await until(() => acked.length === 3);
      await worker.stop();
      await running;
    }
    assert.deepEqual(acked.sort(), [...jids].sort());
    // With one slot the fetcher waits for it while the job runs: its
    // connection is idle, so the ACK rides with the FETCH that follows.
    for (const jid of jids) {
      const ack = `ACK {"jid":"${jid}"}\r\nFETCH w-carry\r\n`;
      assert.ok(sent.some((chunk) => chunk.includes(ack)), `no chunk holds ${JSON.stringify(ack)}`);
    }
  });

  test("bad worker options are refused at construction", () => {
    assert.throws(() => new Worker({ url: server.url, queues: ["a b"] }), ValidationError);
    assert.throws(() => new Worker({ url: server.url, queues: [] }), ValidationError);
    assert.throws(() => new Worker({ url: server.url, concurrency: 0 }), ValidationError);
    assert.throws(() => new Worker({ url: server.url, weights: { a: -1 } }), ValidationError);
    assert.throws(() => new Worker({ url: server.url }).register("", () => {}), ValidationError);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineJob,
  type JobContext,
  Producer,
  randomJid,
  schemaFrom,
  silentLogger,
  ValidationError,
  Worker,
} from "../mod.ts";
import { startProxy } from "./harness/proxy.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";

describe("worker on a real Faktory", () => {
  test("push, fetch, run and ACK", async () => {
    await using faktory = await useFaktory();
    const Greet = defineJob<[name: string, n: number]>("Greet", { queue: "w-ack" });
    const seen: [string, number][] = [];
    await using producer = await Producer.connect({
      url: faktory.url,
      logger: silentLogger,
      poolSize: 2,
    });
    await using worker = faktory.startWorker(
      { queues: ["w-ack"] },
      (w) =>
        w.register(Greet, (job) => {
          seen.push([...job.args]);
        }),
    );
    const acked: string[] = [];
    worker.on("success", (job) => acked.push(job.jid));
    const jid = await producer.perform(Greet, ["ada", 1]);
    await until(() => acked.includes(jid));
    assert.deepEqual(seen, [["ada", 1]]);
    assert.equal(await faktory.queueSize("w-ack"), 0);
  });

  test("a thrown error FAILs the job with errtype, message and backtrace in the retry set", async () => {
    await using faktory = await useFaktory();
    class Kaboom extends Error {
      override name = "Kaboom";
    }
    await using worker = faktory.startWorker(
      { queues: ["w-fail"] },
      (w) =>
        w.register("Explode", () => {
          throw new Kaboom("it blew up");
        }),
    );
    const failed: unknown[] = [];
    worker.on("failure", (_job, error) => failed.push(error));
    const jid = await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Explode",
      args: [],
      queue: "w-fail",
    });
    await until(() => failed.length === 1);
    const retry = (await jobsIn(faktory.server, "retries")).find((j) => j.jid === jid);
    const failure = retry?.failure as Record<string, unknown>;
    assert.equal(failure.errtype, "Kaboom");
    assert.equal(failure.message, "it blew up");
    assert.ok(
      (failure.backtrace as string[]).some((line) => line.includes("worker_test")),
      "stack lines",
    );
  });

  test("retry: 0 discards a failed job; once sends it to the dead set", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
      logger: silentLogger,
      poolSize: 1,
    });
    await using worker = faktory.startWorker(
      { queues: ["w-retry"] },
      (w) =>
        w.register("Fails", () => {
          throw new Error("no");
        }),
    );
    let failures = 0;
    worker.on("failure", () => failures++);
    const discarded = await producer.perform({ jobtype: "Fails", queue: "w-retry", retry: 0 }, []);
    const dead = await producer.perform({ jobtype: "Fails", queue: "w-retry", once: true }, []);
    await until(() => failures === 2);
    const retries = (await jobsIn(faktory.server, "retries")).map((j) => j.jid);
    const deadSet = (await jobsIn(faktory.server, "dead")).map((j) => j.jid);
    assert.ok(
      !retries.includes(discarded) && !deadSet.includes(discarded),
      "retry: 0 is discarded",
    );
    assert.ok(deadSet.includes(dead) && !retries.includes(dead), "once goes straight to dead");
  });

  test("in and at schedule a job: it waits in the scheduled set, then runs", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
      logger: silentLogger,
      poolSize: 1,
    });
    const ran: number[] = [];
    await using worker = faktory.startWorker(
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
    const scheduled = await jobsIn(faktory.server, "scheduled");
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
    await using faktory = await useFaktory();
    let signal: AbortSignal | undefined;
    await using worker = faktory.startWorker(
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
    const jid = await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Slow",
      args: [],
      queue: "w-reserve",
      reserve_for: 60,
    });
    await until(() => failures.length === 1, 5_000);
    assert.ok(signal?.aborted);
    const retry = (await jobsIn(faktory.server, "retries")).find((j) => j.jid === jid);
    assert.equal((retry?.failure as Record<string, unknown>).errtype, "JobTimeoutError");
  });

  test("each job times out on its own reservation: a shorter one started later, and one started after others finished", async () => {
    await using faktory = await useFaktory();
    const timedOut = new Map<string, number>();
    await using worker = faktory.startWorker(
      { queues: ["w-deadlines"], concurrency: 3, reservationMargin: 60_000 },
      (w) => {
        w.register("Quick", () => {});
        w.register(
          "Slow",
          (_job, ctx: JobContext) =>
            new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
            ),
        );
      },
    );
    worker.on("failure", (job) => void timedOut.set(job.jid, Date.now()));
    const push = (jobtype: string, reserve_for: number) =>
      faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype,
        args: [],
        queue: "w-deadlines",
        reserve_for,
      });
    let acked = 0;
    worker.on("success", () => acked++);
    // A job that finishes at once leaves the worker's deadline timer armed
    // for it (due in 4 s). Faktory raises a reserve_for under 60 to 60.
    await push("Quick", 64);
    await until(() => acked === 1, 5_000);
    // 70 s less the 60 s margin: due in 10 s. Then one due in 1 s, pushed after it.
    const long = await push("Slow", 70);
    await until(() => worker.busy === 1, 5_000);
    const started = Date.now();
    const short = await push("Slow", 61);
    await until(() => timedOut.has(short), 5_000, "the shorter reservation timed out first");
    const shortMs = timedOut.get(short)! - started;
    assert.ok(shortMs < 3_000, `the shorter reservation timed out after ${shortMs} ms`);
    assert.ok(!timedOut.has(long), "the longer one is still running");
    await until(() => timedOut.has(long), 15_000, "the longer reservation timed out too");
  });

  test("unknown jobtypes and refused arguments are FAILed with clear errtypes", async () => {
    await using faktory = await useFaktory();
    const Typed = defineJob("Typed", {
      schema: schemaFrom((args): [number] => {
        if (typeof args[0] !== "number") throw new TypeError("a number is required");
        return args as [number];
      }),
    });
    await using worker = faktory.startWorker(
      { queues: ["w-unknown"] },
      (w) => w.register(Typed, () => {}),
    );
    let failures = 0;
    worker.on("failure", () => failures++);
    const unknown = await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Nobody",
      args: [],
      queue: "w-unknown",
    });
    const bad = await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Typed",
      args: ["x"],
      queue: "w-unknown",
    });
    await until(() => failures === 2);
    const retries = await jobsIn(faktory.server, "retries");
    const errtype = (jid: string) =>
      (retries.find((j) => j.jid === jid)?.failure as Record<string, unknown>).errtype;
    assert.equal(errtype(unknown), "UnknownJobTypeError");
    assert.equal(errtype(bad), "InvalidArgumentsError");
  });

  test("N slots run N jobs at once", async () => {
    await using faktory = await useFaktory();
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await using worker = faktory.startWorker(
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
      await faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype: "Wait",
        args: [],
        queue: "w-conc",
      });
    }
    await until(() => running === 5);
    // A fetcher fetches only once it holds a slot: the other jobs stay queued.
    assert.equal(await faktory.queueSize("w-conc"), 3, "no job fetched without a slot");
    assert.equal(peak, 5, "never more than the concurrency");
    release();
    await until(() => done === 8);
  });

  test("strict queue order: the first queue is drained first", async () => {
    await using faktory = await useFaktory();
    for (let i = 0; i < 3; i++) {
      await faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype: "Order",
        args: ["low"],
        queue: "w-low",
      });
    }
    for (let i = 0; i < 3; i++) {
      await faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype: "Order",
        args: ["high"],
        queue: "w-high",
      });
    }
    const order: unknown[] = [];
    await using worker = faktory.startWorker(
      { queues: ["w-high", "w-low"], concurrency: 1, fetchers: 1 },
      (w) => w.register("Order", (job) => void order.push(job.args[0])),
    );
    void worker;
    await until(() => order.length === 6);
    assert.deepEqual(order, ["high", "high", "high", "low", "low", "low"]);
  });

  test("weighted queues fetch from every queue", async () => {
    await using faktory = await useFaktory();
    for (let i = 0; i < 10; i++) {
      await faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype: "W",
        args: ["a"],
        queue: "w-wa",
      });
      await faktory.client.push({
        jid: crypto.randomUUID(),
        jobtype: "W",
        args: ["b"],
        queue: "w-wb",
      });
    }
    const order: unknown[] = [];
    await using worker = faktory.startWorker({
      weights: { "w-wa": 1, "w-wb": 1 },
      concurrency: 1,
      fetchers: 1,
    }, (w) => w.register("W", (job) => void order.push(job.args[0])));
    void worker;
    await until(() => order.length === 20);
    assert.notDeepEqual(order.slice(0, 10), Array(10).fill("a"), "not strictly ordered");
  });

  test("the namespace prefixes queues on push and fetch", async () => {
    await using faktory = await useFaktory();
    const url = `${faktory.url}/tenant.`;
    await using producer = await Producer.connect({ url, logger: silentLogger, poolSize: 1 });
    await producer.perform({ jobtype: "Ns", queue: "w-ns" }, [1]);
    assert.equal(await faktory.queueSize("tenant.w-ns"), 1);
    const seen: string[] = [];
    await using worker = faktory.startWorker(
      { url, queues: ["w-ns"] },
      (w) => w.register("Ns", (job) => void seen.push(job.queue)),
    );
    await until(() => seen.length === 1);
    assert.deepEqual(seen, ["w-ns"]);
    await worker.stop();
  });

  test("a finished job's ACK goes ahead of its fetcher's next FETCH, in the same write", async () => {
    await using faktory = await useFaktory();
    await using proxy = await startProxy(faktory.server);
    const sent: string[] = [];
    proxy.tap((chunk) => sent.push(new TextDecoder().decode(chunk)));
    const jids = await Promise.all(
      [1, 2, 3].map(() =>
        faktory.client.push({ jid: randomJid(), jobtype: "Noop", args: [], queue: "w-carry" })
      ),
    );
    const acked: string[] = [];
    {
      await using worker = faktory.startWorker(
        { url: proxy.url, queues: ["w-carry"], concurrency: 1 },
        (w) => w.register("Noop", () => {}),
      );
      worker.on("success", (job) => acked.push(job.jid));
      await until(() => acked.length === 3);
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
    const url = "tcp://localhost:7419";
    assert.throws(() => new Worker({ url, queues: ["a b"] }), ValidationError);
    assert.throws(() => new Worker({ url, queues: [] }), ValidationError);
    assert.throws(() => new Worker({ url, concurrency: 0 }), ValidationError);
    assert.throws(() => new Worker({ url, weights: { a: -1 } }), ValidationError);
    assert.throws(() => new Worker({ url }).register("", () => {}), ValidationError);
  });
});

/**
 * The handler toolkit against a real Faktory: pushing from a handler (over
 * the worker's own connections, namespace, defaults and push middleware),
 * the application's typed values in the context, `worker.running()`, a
 * job's own jid, and one bulk push of several job types through middleware.
 * The same handler code against `./testing`'s TestProducer.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BulkPushError,
  Client,
  defineJob,
  FaktoryError,
  type HandlerRegistry,
  Job,
  type JobPayload,
  Producer,
  type PushMiddleware,
  randomJid,
  silentLogger,
  ValidationError,
  Worker,
} from "../mod.ts";
import { fake, inline } from "../src/testing.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { startProxy } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";

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

const unique = (name: string) => `${name}-${randomJid().slice(0, 8)}`;
const Parent = defineJob<[n: number]>("Parent");
const Child = defineJob<[n: number, from: string]>("Child");

/** Fetches every job waiting in `queue` (and ACKs it). */
async function drain(queue: string): Promise<JobPayload[]> {
  const jobs: JobPayload[] = [];
  while ((await client.info()).faktory.queues[queue]) {
    const job = await client.fetch([queue]);
    if (job === null) break;
    jobs.push(job);
    await client.ack(job.jid);
  }
  return jobs;
}

describe("pushing from a handler", () => {
  test("ctx.jobs pushes over the worker's own connections, with its namespace, defaults and push middleware", async () => {
    await using proxy = await startProxy(server);
    const queue = unique("parents");
    const followups = unique("followups");
    const stamped: string[] = [];
    const stamp: PushMiddleware = (job, next) => {
      stamped.push(job.jobtype);
      job.custom = { ...job.custom, pushed_by: "worker" };
      return next();
    };
    const worker = new Worker({
      url: `${proxy.url}/app.`,
      queues: [queue],
      concurrency: 1,
      fetchers: 1,
      defaults: { queue: followups, retry: 3 },
      pushMiddleware: [stamp],
      logger: silentLogger,
    });
    const pushed: string[] = [];
    worker.register(Parent, async (job, ctx) => {
      pushed.push(await ctx.jobs.perform(Child, [job.args[0], job.jid]));
      pushed.push(...await ctx.jobs.performBulk(Child, [[10, "bulk"], [11, "bulk"]]));
    });
    const running = worker.run();
    const parents = await Promise.all(
      [1, 2].map((n) =>
        client.push({ jid: randomJid(), jobtype: "Parent", args: [n], queue: `app.${queue}` })
      ),
    );
    await until(async () => (await client.info()).faktory.queues[`app.${followups}`] === 6);
    await worker.stop();
    await running;
    // Heartbeat, one fetcher and one reporting connection: the pushes opened none of their own.
    assert.equal(proxy.stats.connections, 3);
    assert.deepEqual(stamped, Array(6).fill("Child"));
    const children = await drain(`app.${followups}`);
    assert.deepEqual(children.map((j) => j.jid).sort(), [...pushed].sort());
    for (const child of children) {
      assert.equal(child.retry, 3);
      assert.deepEqual(child.custom, { pushed_by: "worker" });
    }
    assert.deepEqual(
      children.filter((j) => j.args[1] !== "bulk").map((j) => j.args[1]).sort(),
      [...parents].sort(),
    );
  });

  test("worker.jobs pushes from the startup and shutdown hooks, and rejects before run and after stop", async () => {
    const queue = unique("hooks");
    const worker = new Worker({
      url: server.url,
      queues: [unique("none")],
      defaults: { queue },
      logger: silentLogger,
      hooks: {
        startup: async (w) => void await w.jobs.perform(Child, [1, "startup"]),
        shutdown: async (w) => void await w.jobs.perform(Child, [2, "shutdown"]),
      },
    });
    await assert.rejects(worker.jobs.perform(Child, [0, "early"]), /not running/);
    const running = worker.run();
    await until(async () => (await client.info()).faktory.queues[queue] === 1);
    await worker.stop();
    await running;
    await assert.rejects(worker.jobs.performMany([[Child, [3, "late"]]]), FaktoryError);
    assert.deepEqual((await drain(queue)).map((j) => j.args[1]), ["startup", "shutdown"]);
  });
});

describe("the application's values in the context", () => {
  interface Db {
    readonly rows: Map<number, string>;
  }

  /** Written once against the registry type: a worker or test double that provides `db`. */
  function registerHandlers(registry: HandlerRegistry<{ db: Db; requestId: string }>): void {
    registry.use(async (job, ctx, next) => {
      assert.ok(ctx.db.rows instanceof Map);
      assert.equal(ctx.requestId, `req-${job.jid}`);
      await next();
    });
    registry.register(Parent, async (job, { db, jobs, requestId }) => {
      db.rows.set(job.args[0], requestId);
      await jobs.perform(Child, [job.args[0], requestId]);
    });
    registry.register(Child, (job, { db }) => void db.rows.set(job.args[0] * 100, job.args[1]));
  }

  test("the context option's values reach middleware and handlers, once per job", async () => {
    const queue = unique("values");
    const db: Db = { rows: new Map() };
    const calls: string[] = [];
    const worker = new Worker({
      url: server.url,
      queues: [queue],
      defaults: { queue },
      logger: silentLogger,
      context: (job) => {
        calls.push(job.jobtype);
        return { db, requestId: `req-${job.jid}` };
      },
    });
    registerHandlers(worker);
    const running = worker.run();
    await client.push({ jid: "parent-0001", jobtype: "Parent", args: [7], queue });
    await until(() => db.rows.size === 2);
    await worker.stop();
    await running;
    assert.deepEqual(Object.fromEntries(db.rows), { 7: "req-parent-0001", 700: "req-parent-0001" });
    assert.deepEqual(calls, ["Parent", "Child"]);
  });

  test("a context option that throws, or returns a name the context has, fails the job with its error", async () => {
    const queue = unique("bad-values");
    const failures: unknown[] = [];
    let give: () => object = () => {
      throw new RangeError("no database");
    };
    const worker = new Worker({
      url: server.url,
      queues: [queue],
      logger: silentLogger,
      context: () => give(),
    });
    worker.register("Any", () => assert.fail("the handler must not run"));
    worker.on("failure", (_job, error) => failures.push(error));
    const running = worker.run();
    await client.push({ jid: randomJid(), jobtype: "Any", args: [], queue, retry: 0 });
    await until(() => failures.length === 1);
    give = () => ({ jobs: "mine" });
    await client.push({ jid: randomJid(), jobtype: "Any", args: [], queue, retry: 0 });
    await until(() => failures.length === 2);
    await worker.stop();
    await running;
    assert.ok(failures[0] instanceof RangeError);
    assert.ok(failures[1] instanceof ValidationError);
    assert.match((failures[1] as Error).message, /returned "jobs", which the job context has/);
  });

  test("./testing provides the same context: values, jobs (itself) and progress", async () => {
    const db: Db = { rows: new Map() };
    const jobs = fake({ context: (job) => ({ db, requestId: `req-${job.jid}` }) });
    registerHandlers(jobs);
    await jobs.perform([Parent, { jid: "parent-0002" }], [5]);
    await jobs.drain();
    assert.deepEqual(Object.fromEntries(db.rows), { 5: "req-parent-0002", 500: "req-parent-0002" });
    assert.deepEqual(jobs.pushed.map((j) => j.jobtype), ["Parent", "Child"]);

    const now = inline().register("Import", async (job, ctx) => {
      await ctx.progress({ percent: 40, description: "Halfway" });
      await ctx.jobs.batch({ description: "rows" }, (batch) => batch.perform(Child, [1, job.jid]));
    }).register(Child, () => {});
    await now.perform({ jobtype: "Import", jid: "import-0001", queue: "low" }, []);
    assert.deepEqual(now.progress, [{ jid: "import-0001", percent: 40, description: "Halfway" }]);
    assert.deepEqual(now.batches.map((b) => [b.bid, b.committed]), [["b-test-1", true]]);
    assert.equal(now.pushed[1]?.batchId, "b-test-1");
    await assert.rejects(
      inline().register("X", (_j, ctx) => ctx.progress({ percent: 101 })).perform(
        { jobtype: "X" },
        [],
      ),
      ValidationError,
    );
  });
});

describe("running jobs", () => {
  test("worker.running() lists the jobs in flight, longest running first", async () => {
    const queue = unique("running");
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker({ url: server.url, queues: [queue], logger: silentLogger });
    worker.register("Block", () => released);
    assert.deepEqual(worker.running(), []);
    const running = worker.run();
    const before = Date.now();
    await client.push({ jid: "block-0001", jobtype: "Block", args: [], queue });
    await until(() => worker.running().length === 1);
    await client.push({ jid: "block-0002", jobtype: "Block", args: [], queue: queue });
    await until(() => worker.running().length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [first, second] = worker.running();
    assert.deepEqual(Object.keys(first!).sort(), [
      "elapsedMs",
      "jid",
      "jobtype",
      "queue",
      "started",
    ]);
    assert.deepEqual([first!.jid, first!.jobtype, first!.queue], ["block-0001", "Block", queue]);
    assert.equal(second!.jid, "block-0002");
    assert.ok(first!.started instanceof Date && first!.started.getTime() >= before - 5);
    assert.ok(first!.elapsedMs >= 50 && first!.elapsedMs >= second!.elapsedMs);
    release();
    await until(() => worker.running().length === 0);
    await worker.stop();
    await running;
  });
});

describe("pushing with a jid of one's own, and many kinds at once", () => {
  test("perform and performMany push the jid given; a bad or shared jid is refused before sending", async () => {
    const queue = unique("jids");
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
      defaults: { queue },
    });
    assert.equal(
      await producer.perform([Child, { jid: "order-42-email" }], [1, "a"]),
      "order-42-email",
    );
    const jids = await producer.performMany([
      [[Child, { jid: "order-43-email" }], [2, "b"]],
      [Parent, [3]],
    ]);
    assert.equal(jids[0], "order-43-email");
    assert.deepEqual((await drain(queue)).map((j) => j.jid), ["order-42-email", ...jids]);

    for (const jid of ["short", "has space", "", 12345678]) {
      await assert.rejects(
        producer.perform({ jobtype: "X", jid: jid as string }, []),
        (e: Error) => e instanceof ValidationError && /Invalid jid/.test(e.message),
      );
    }
    await assert.rejects(
      producer.performBulk([Child, { jid: "order-44-email" }], [[1, "a"], [2, "b"]]),
      /one jid cannot name many jobs/,
    );
    assert.throws(() => defineJob("X", { jid: "fixed-jid-1" }), /a jid names one job/);
    await assert.rejects(
      Producer.connect({ url: server.url, defaults: { jid: "fixed-jid-1" } }),
      /a jid names one job/,
    );
    assert.throws(() => new Worker({ defaults: { jid: "fixed-jid-1" } }), /a jid names one job/);
    assert.equal((await client.info()).faktory.queues[queue] ?? 0, 0, "nothing was sent");
  });

  test("performMany pushes several job types in one call, each through the push middleware", async () => {
    const queue = unique("many");
    const seen: string[] = [];
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
      defaults: { queue },
      middleware: [(job, next) => {
        seen.push(job.jobtype);
        if (job.args[0] === 0) return Promise.resolve(); // left out
        job.custom = { traced: true };
        return next();
      }],
    });
    const jids = await producer.performMany([
      [Parent, [1]],
      [[Child, { retry: 2 }], [2, "x"]],
      [{ jobtype: "Untyped" }, ["anything", null]],
      [Parent, [0]],
    ]);
    assert.deepEqual(seen, ["Parent", "Child", "Untyped", "Parent"]);
    assert.equal(jids.length, 3);
    const jobs = await drain(queue);
    assert.deepEqual(jobs.map((j) => [j.jid, j.jobtype, j.custom]), [
      [jids[0], "Parent", { traced: true }],
      [jids[1], "Child", { traced: true }],
      [jids[2], "Untyped", { traced: true }],
    ]);
    assert.equal(jobs[1]!.retry, 2);
    // One bad job: nothing is sent.
    await assert.rejects(
      producer.performMany([[Parent, [1]], [{ jobtype: "" }, []]]),
      ValidationError,
    );
    await assert.rejects(producer.performMany([[Parent]] as never), /use \[options, args\]/);
    assert.equal((await client.info()).faktory.queues[queue] ?? 0, 0);
    assert.ok(new BulkPushError({ pushed: [], refused: {}, notPushed: [], unknown: [] }));
  });
});

describe("batch callbacks and tracking, as a job reads them", () => {
  test("callbackBatchId, parentBatchId and tracked come from custom._bid, _pbid and track", () => {
    const callback = new Job({
      jid: "callback-01",
      jobtype: "Done",
      args: [],
      custom: { _bid: "b-1", _pbid: "b-0", track: 1 },
    });
    assert.deepEqual(
      [callback.batchId, callback.callbackBatchId, callback.parentBatchId, callback.tracked],
      [undefined, "b-1", "b-0", true],
    );
    const member = new Job({ jid: "member-01", jobtype: "Step", args: [], custom: { bid: "b-1" } });
    assert.deepEqual([member.batchId, member.callbackBatchId, member.tracked], [
      "b-1",
      undefined,
      false,
    ]);
  });
});

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  type JobMiddleware,
  Producer,
  type PushMiddleware,
  silentLogger,
  Worker,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";

describe("middleware and hooks on a real Faktory", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  test("push middleware runs outermost first, can stamp custom fields and refuse a push", async () => {
    const calls: string[] = [];
    const outer: PushMiddleware = async (job, next) => {
      calls.push(`outer:${job.jobtype}`);
      job.custom = { ...job.custom, stamped: true };
      await next();
      calls.push("outer:done");
    };
    const refuseSecret: PushMiddleware = (job, next) => {
      calls.push("inner");
      if (job.args.includes("secret")) throw new Error("no secrets in jobs");
      return next();
    };
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
      middleware: [outer, refuseSecret],
    });
    await producer.perform({ jobtype: "Stamp", queue: "mw-push" }, ["ok"]);
    assert.deepEqual(calls, ["outer:Stamp", "inner", "outer:done"]);
    await assert.rejects(
      producer.perform({ jobtype: "Stamp", queue: "mw-push" }, ["secret"]),
      /no secrets/,
    );
    const jids = await producer.performBulk({ jobtype: "Stamp", queue: "mw-push" }, [["a"], ["b"]]);
    assert.equal(jids.length, 2);
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const fetched = await Promise.all([1, 2, 3].map(() => client.fetch(["mw-push"])));
    assert.ok(fetched.every((j) => j?.custom?.stamped === true), "every pushed job was stamped");
    assert.equal(await client.fetch(["mw-push"]), null, "the refused job was not pushed");
  });

  test("job middleware wraps the handler, sees its error and can change the outcome; hooks fire", async () => {
    const order: string[] = [];
    const timing: JobMiddleware = async (job, _ctx, next) => {
      order.push(`before:${job.args[0]}`);
      try {
        await next();
      } finally {
        order.push(`after:${job.args[0]}`);
      }
    };
    const swallow: JobMiddleware = async (job, _ctx, next) => {
      try {
        await next();
      } catch (e) {
        if (job.args[0] !== "swallowed") throw e;
      }
    };
    const worker = new Worker({
      url: server.url,
      queues: ["mw-job"],
      concurrency: 1,
      logger: silentLogger,
      middleware: [timing],
    });
    worker.use(swallow);
    worker.register("Mw", (job) => {
      order.push(`run:${job.args[0]}`);
      if (job.args[0] !== "fine") throw new Error(`failing ${job.args[0]}`);
    });
    const events: string[] = [];
    worker.on("start", (job) => events.push(`start:${job.args[0]}`));
    worker.on("success", (job, ms) => events.push(`success:${job.args[0]}:${typeof ms}`));
    worker.on("failure", (job, e) => events.push(`failure:${job.args[0]}:${(e as Error).message}`));
    worker.on("start", () => {
      throw new Error("a broken listener does not break the job");
    });
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
    });
    const running = worker.run();
    for (const arg of ["fine", "swallowed", "broken"]) {
      await producer.perform({ jobtype: "Mw", queue: "mw-job" }, [arg]);
    }
    await until(() => events.filter((e) => !e.startsWith("start")).length === 3);
    await worker.stop();
    await running;
    assert.deepEqual(order, [
      "before:fine",
      "run:fine",
      "after:fine",
      "before:swallowed",
      "run:swallowed",
      "after:swallowed",
      "before:broken",
      "run:broken",
      "after:broken",
    ]);
    // Per job: a job's success or failure is emitted once its ACK or FAIL is
    // through, which may be after the next job started.
    const of = (arg: string) => events.filter((e) => e.split(":")[1] === arg);
    assert.deepEqual(of("fine"), ["start:fine", "success:fine:number"]);
    assert.deepEqual(of("swallowed"), ["start:swallowed", "success:swallowed:number"]);
    assert.deepEqual(of("broken"), ["start:broken", "failure:broken:failing broken"]);
    assert.equal(events.length, 6);
    assert.equal(
      (await jobsIn(server, "retries")).length,
      1,
      "only the unswallowed failure is retried",
    );
  });
});

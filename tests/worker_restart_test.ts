/**
 * A worker through server restarts and stops: it resumes after a crash and
 * restart with its finished jobs ACKed or FAILed, and stop never waits for a
 * reservation to end or for the next heartbeat.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, FaktoryError, silentLogger, Worker } from "../mod.ts";
import { startFaktory } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { capturingLogger, job, sleep, unhandledRejections, working } from "./harness/watch.ts";

const unhandled = unhandledRejections();

describe("a worker through server restarts", () => {
  test("a worker resumes after the server is killed and restarted; jobs that finished meanwhile are ACKed or FAILed", async () => {
    await using server = await startFaktory();
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const succeeded: string[] = [];
    const errors: Error[] = [];
    const worker = new Worker({
      url: server.url,
      queues: ["restart"],
      concurrency: 5,
      heartbeatInterval: 1_000,
      logger: silentLogger,
    });
    worker.register("Hold", () => gate);
    worker.register("HoldThenFail", async () => {
      await gate;
      throw new Error("failed while the server was down");
    });
    worker.register("Quick", () => {});
    const failed: string[] = [];
    worker.on("success", (j) => void succeeded.push(j.jid));
    worker.on("failure", (j) => void failed.push(j.jid));
    worker.on("error", (e) => void errors.push(e));
    const running = worker.run();
    try {
      const held = [job("restart", { jobtype: "Hold" }), job("restart", { jobtype: "Hold" })];
      const failing = job("restart", { jobtype: "HoldThenFail" });
      for (const j of [...held, failing]) await client.push(j);
      await until(() => worker.busy === 3, 10_000, "the jobs running");
      await server.kill();
      release(); // they finish while the server is down: their ACKs and FAIL wait
      await sleep(1_000);
      assert.equal(succeeded.length + failed.length, 0, "nothing got through while down");
      await server.restart();
      await until(
        () => held.every((j) => succeeded.includes(j.jid)) && failed.length === 1,
        20_000,
        "ACKs and FAIL after restart",
      );
      assert.deepEqual(await working(server), new Set(), "no reservation left");
      const retry = (await jobsIn(server, "retries")).find((j) => j.jid === failing.jid);
      assert.equal(
        (retry?.failure as { message?: string }).message,
        "failed while the server was down",
      );
      // Jobs pushed after the restart run: the fetchers reconnected by themselves.
      const quick = [job("restart", { jobtype: "Quick" }), job("restart", { jobtype: "Quick" })];
      for (const j of quick) await client.push(j);
      await until(
        () => quick.every((j) => succeeded.includes(j.jid)),
        20_000,
        "jobs after restart",
      );
      assert.equal(succeeded.length, 4, "each job ran once");
      assert.deepEqual((await jobsIn(server, "retries")).map((j) => j.jid), [failing.jid]);
      assert.ok(errors.every((e) => e instanceof FaktoryError), "only library errors");
    } finally {
      await worker.stop();
      await running;
    }
    assert.deepEqual(unhandled, []);
  });

  test("stop with the server down gives up reporting at the shutdown deadline, not at the reservation's end", async () => {
    await using server = await startFaktory();
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const logger = capturingLogger();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker({
      url: server.url,
      queues: ["stop-down"],
      shutdownTimeout: 500,
      heartbeatInterval: 1_000,
      logger,
    });
    worker.register("Hold", () => gate);
    const running = worker.run();
    await client.push(job("stop-down", { jobtype: "Hold" })); // reserve_for: 30 min
    await until(() => worker.busy === 1, 10_000, "job running");
    await server.kill();
    release();
    const start = Date.now();
    await worker.stop();
    await running;
    const elapsed = Date.now() - start;
    assert.ok(elapsed < 9_000, `stop took ${elapsed} ms`);
    // The ACK gave up by itself, or stop gave up waiting for it: either way, by the deadline.
    assert.ok(
      logger.lines.some((l) => /without reporting 1 job|Could not ACK/.test(l)),
      logger.lines.join("\n"),
    );
    assert.ok(!logger.lines.some((l) => /finished after it was failed/.test(l)));
    assert.deepEqual(unhandled, []);
  });
});

test("stop after quiet does not wait for the next heartbeat", async () => {
  await using server = await startFaktory();
  const worker = new Worker({ url: server.url, heartbeatInterval: 30_000, logger: silentLogger });
  const running = worker.run();
  await sleep(500);
  worker.quiet();
  await sleep(500);
  const start = Date.now();
  await worker.stop();
  await running;
  assert.ok(Date.now() - start < 3_000, `stop took ${Date.now() - start} ms`);
});

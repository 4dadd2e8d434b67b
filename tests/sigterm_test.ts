/**
 * SIGTERM loses nothing: a worker process (tests/fixtures/sigterm_worker.ts,
 * on this test's runtime) is stopped by SIGTERM while jobs run; it must exit
 * by itself, and every job must end up ACKed, in the retry set as cut off by
 * the shutdown, or still waiting in its queue: none lost, none left "working".
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Producer, silentLogger } from "../mod.ts";
import { exitWithin, runtimeCommand, startChild } from "./harness/child.ts";
import { jobsIn, jobsQueued } from "./harness/redis.ts";
import { useFaktory } from "./harness/use_faktory.ts";

/** `ACK <jid>` / `FAIL <jid> <errname>` / `START <jid>` lines of the fixture. */
function reported(lines: readonly string[], kind: "START" | "ACK" | "FAIL"): string[][] {
  return lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.split(" ").slice(1));
}

describe("SIGTERM on a worker process", () => {
  test("it exits by itself within seconds, and every job is ACKed, retried or still queued", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const queue = "sigterm";
    // 30 jobs of 50-1500 ms, run 10 at once, with a 700 ms shutdown timeout.
    // The queue is FIFO, so the first four are among the first ten running:
    // SIGTERM comes once the two short ones (50, 100 ms) have made room for
    // two more jobs, so the two long ones (1500, 1450 ms) are certain to be
    // cut off and the short ones to be ACKed.
    const durations = Array.from({ length: 30 }, () => 50 + Math.floor(Math.random() * 1451));
    durations.splice(0, 4, 1500, 1450, 50, 100);
    await using producer = await Producer.connect({
      url: server.url,
      logger: silentLogger,
      poolSize: 1,
    });
    const jids = await producer.performBulk(
      { jobtype: "Sleep", queue, retry: 5 },
      durations.map((ms) => [ms]),
    );
    assert.equal((await client.info()).faktory.queues[queue], 30);

    const [command, args] = runtimeCommand("tests/fixtures/sigterm_worker.ts");
    await using worker = startChild(command, args, {
      FAKTORY_URL: server.url,
      FAKTORY_QUEUE: queue,
    });
    await worker.waitFor((lines) => reported(lines, "START").length >= 12, 30_000);
    const signalled = Date.now();
    worker.signal("SIGTERM");
    const exit = await exitWithin(worker, 15_000);
    const took = Date.now() - signalled;
    const output = worker.output();

    assert.deepEqual(exit, { code: 0, signal: null }, `exit status${output}`);
    assert.ok(worker.lines.includes("STOPPED"), `run() resolved${output}`);
    // Shutdown timeout (0.7 s) plus at most one FETCH (2 s) and closing.
    assert.ok(took < 5_000, `exited ${took} ms after SIGTERM${output}`);

    const started = new Set(reported(worker.lines, "START").map(([jid]) => jid!));
    const acked = new Set(reported(worker.lines, "ACK").map(([jid]) => jid!));
    const failed = new Map(reported(worker.lines, "FAIL").map(([jid, name]) => [jid!, name]));
    const retries = new Map(
      (await jobsIn(server, "retries")).map((j) => [j.jid as string, j]),
    );
    const queued = new Set((await jobsQueued(server, queue)).map((j) => j.jid));
    const info = await client.info();

    assert.equal(info.faktory.sets.working, 0, "no job is left reserved (working)");
    assert.equal(info.faktory.sets.dead, 0);
    assert.equal(info.faktory.sets.scheduled, 0);
    for (const [jid, name] of failed) {
      assert.equal(name, "WorkerStoppedError", `${jid} failed only because the worker stopped`);
    }
    assert.deepEqual([...retries.keys()].sort(), [...failed.keys()].sort(), "FAILed = retry set");
    for (const job of retries.values()) {
      assert.equal((job.failure as Record<string, unknown>).errtype, "WorkerStoppedError");
    }
    for (const jid of started) {
      assert.ok(acked.has(jid) !== failed.has(jid), `started ${jid}: ACKed or FAILed, not both`);
    }
    for (const jid of jids) {
      const where = [acked.has(jid), retries.has(jid), queued.has(jid)].filter(Boolean).length;
      assert.equal(where, 1, `${jid} is exactly one of ACKed, retried, queued${output}`);
      assert.ok(!queued.has(jid) || !started.has(jid), `${jid} in the queue was never started`);
    }
    assert.equal(acked.size + retries.size + queued.size, jids.length, "no other jobs appeared");
    assert.equal(info.faktory.queues[queue] ?? 0, queued.size);
    assert.equal(started.size, reported(worker.lines, "START").length, "no job started twice");
    assert.ok(acked.has(jids[2]!) && acked.has(jids[3]!), "the 50 and 100 ms jobs were ACKed");
    assert.ok(failed.has(jids[0]!) && failed.has(jids[1]!), "the longest jobs were cut off");
  });

  test("a second SIGINT stops at once: running jobs' signals abort and they are FAILed for a retry", async () => {
    await using faktory = await useFaktory();
    const { server } = faktory;
    const queue = "sigint-twice";
    await using producer = await Producer.connect({ url: server.url, logger: silentLogger });
    const jids = await producer.performBulk({ jobtype: "Sleep", queue }, [[60_000], [60_000]]);
    const [command, args] = runtimeCommand("tests/fixtures/sigterm_worker.ts");
    await using worker = startChild(command, args, {
      FAKTORY_URL: server.url,
      FAKTORY_QUEUE: queue,
      SHUTDOWN_MS: "60000",
    });
    await worker.waitFor((lines) => reported(lines, "START").length === 2, 30_000);
    worker.signal("SIGINT");
    await worker.waitFor((lines) => lines.includes("STATE terminate"), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(reported(worker.lines, "FAIL").length, 0, "one SIGINT waits for the jobs");
    const signalled = Date.now();
    worker.signal("SIGINT");
    const exit = await exitWithin(worker, 15_000);
    const took = Date.now() - signalled;
    const output = worker.output();
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status${output}`);
    assert.ok(took < 5_000, `exited ${took} ms after the second SIGINT${output}`);
    const failed = reported(worker.lines, "FAIL");
    assert.deepEqual(failed.map(([jid]) => jid).sort(), [...jids].sort(), output);
    assert.ok(failed.every(([, name]) => name === "WorkerStoppedError"), output);
    const retries = await jobsIn(server, "retries");
    assert.deepEqual(retries.map((j) => j.jid).sort(), [...jids].sort());
  });
});

/**
 * Stopping a worker: quiet stops fetching, stop lets jobs finish within the
 * shutdown timeout and lets a FETCH under way end (or, with
 * abandonFetchOnStop, does not wait for it).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomJid } from "../mod.ts";
import { startProxy } from "./harness/proxy.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";

describe("stopping a worker on a real Faktory", () => {
  test("quiet stops fetching; running jobs finish", async () => {
    await using faktory = await useFaktory();
    let done = 0;
    await using worker = faktory.startWorker(
      { queues: ["w-quiet"], concurrency: 1 },
      (w) => w.register("Q", () => void done++),
    );
    const connections = async () => (await faktory.client.info()).server.connections;
    await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Q",
      args: [],
      queue: "w-quiet",
    });
    await until(() => done === 1);
    // Ours, the heartbeat's, the fetcher's and the reporting pool's (which
    // connects after the fetcher): all four before the fetcher may close.
    await until(async () => (await connections()) === 4, 10_000, "every connection open");
    worker.quiet();
    assert.equal(worker.status, "quiet");
    // The fetcher closes once the FETCH it had sent comes back; the
    // heartbeat and reporting connections stay, and so does ours.
    await until(async () => (await connections()) === 3, 10_000, "the fetcher closed");
    await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Q",
      args: [],
      queue: "w-quiet",
    });
    assert.equal(await faktory.queueSize("w-quiet"), 1);
    assert.equal(worker.status, "quiet");
    assert.equal(done, 1);
  });

  test("stop lets short jobs finish, then aborts and FAILs the rest; run resolves", async () => {
    await using faktory = await useFaktory();
    const signals: AbortSignal[] = [];
    let quick = 0;
    await using worker = faktory.startWorker(
      { queues: ["w-stop"], concurrency: 4, shutdownTimeout: 500 },
      (w) => {
        w.register("Quick", async () => {
          await new Promise((r) => setTimeout(r, 100));
          quick++;
        });
        w.register("Forever", (_job, ctx) => {
          signals.push(ctx.signal);
          return new Promise(() => {}); // ignores its signal
        });
      },
    );
    const forever = await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Forever",
      args: [],
      queue: "w-stop",
    });
    await faktory.client.push({
      jid: crypto.randomUUID(),
      jobtype: "Quick",
      args: [],
      queue: "w-stop",
    });
    await until(() => signals.length === 1 && worker.busy === 2);
    const start = Date.now();
    await worker.stop();
    await worker.running;
    assert.equal(worker.status, "stopped");
    assert.equal(quick, 1, "the short job finished");
    assert.ok(signals[0]!.aborted, "the long job's signal aborted");
    assert.ok(Date.now() - start < 5_000);
    const retry = (await jobsIn(faktory.server, "retries")).find((j) => j.jid === forever);
    assert.equal((retry?.failure as Record<string, unknown>).errtype, "WorkerStoppedError");
  });

  for (const first of ["stop()", "nothing"]) {
    test(`stop({ force: true }) after ${first}: running jobs' signals abort at once and they are FAILed; the shutdown timeout is not waited out`, async () => {
      await using faktory = await useFaktory();
      const reasons: unknown[] = [];
      let started = 0;
      await using worker = faktory.startWorker(
        { queues: ["w-force"], concurrency: 2, shutdownTimeout: 60_000 },
        (w) => {
          w.register("Listens", (_job, { signal }) =>
            new Promise<void>((_, reject) => {
              started++;
              signal.addEventListener("abort", () => {
                reasons.push(signal.reason);
                reject(signal.reason);
              });
            }));
          w.register("Ignores", () => {
            started++;
            return new Promise<void>(() => {}); // ignores its signal
          });
        },
      );
      const jids = await Promise.all(
        ["Listens", "Ignores"].map((jobtype) =>
          faktory.client.push({ jid: randomJid(), jobtype, args: [], queue: "w-force" })
        ),
      );
      await until(() => started === 2 && worker.busy === 2);
      const start = Date.now();
      const stopping = first === "stop()" ? worker.stop() : undefined;
      if (stopping) {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(reasons.length, 0, "a plain stop waits for the jobs");
      }
      await worker.stop({ force: true });
      await stopping;
      await worker.running;
      const took = Date.now() - start;
      assert.equal(worker.status, "stopped");
      assert.ok(took < 5_000, `the stop took ${took} ms`);
      assert.equal(reasons.length, 1);
      assert.equal((reasons[0] as Error).name, "WorkerStoppedError");
      const retries = await jobsIn(faktory.server, "retries");
      for (const jid of jids) {
        const retry = retries.find((j) => j.jid === jid);
        assert.equal(
          (retry?.failure as Record<string, unknown>)?.errtype,
          "WorkerStoppedError",
          jid,
        );
      }
    });
  }

  /**
   * A worker idle in FETCH, seen through a proxy, as `stop` is called and a
   * job is pushed at once: the server hands it to that FETCH. Returns where
   * the job went once it settled: run, left queued, or reserved.
   */
  async function stopWhileFetching(abandonFetchOnStop: boolean) {
    await using faktory = await useFaktory();
    await using proxy = await startProxy(faktory.server);
    let fetches = 0;
    proxy.tap((chunk) =>
      void (fetches += new TextDecoder().decode(chunk).split("FETCH ").length - 1)
    );
    const ran: string[] = [];
    await using worker = faktory.startWorker(
      { url: proxy.url, queues: ["w-late"], concurrency: 1, abandonFetchOnStop },
      (w) => w.register("Late", (job) => void ran.push(job.jid)),
    );
    await until(() => fetches > 0, 10_000, "a FETCH sent");
    const start = Date.now();
    const stopped = worker.stop();
    const jid = await faktory.client.push({
      jid: randomJid(),
      jobtype: "Late",
      args: [],
      queue: "w-late",
    });
    await stopped;
    const took = Date.now() - start;
    // A FETCH pops the job before it reserves it: wait until it is one or the other.
    let counts = { queued: 0, working: 0 };
    await until(
      async () => {
        const info = (await faktory.client.info()).faktory;
        counts = { queued: info.queues["w-late"] ?? 0, working: info.sets.working };
        return ran.length + counts.queued + counts.working > 0;
      },
      5_000,
      "the job run, queued or reserved",
    );
    return { jid, ran, took, ...counts };
  }

  test("stop lets a FETCH under way end: a job it brings runs and is ACKed", async () => {
    const { jid, ran, queued, working } = await stopWhileFetching(false);
    assert.deepEqual(ran, [jid]);
    assert.equal(queued, 0);
    assert.equal(working, 0, "nothing left reserved");
  });

  test("abandonFetchOnStop: stop does not wait out the FETCH; a job it takes stays reserved", async () => {
    const { ran, took, queued, working } = await stopWhileFetching(true);
    assert.ok(took < 1_500, `stop took ${took} ms`);
    assert.deepEqual(ran, []);
    // The server's FETCH still takes the job, and reserves it for a connection that is gone.
    assert.equal(queued + working, 1, "the job is queued or reserved");
  });
});

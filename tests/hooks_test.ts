/**
 * Lifecycle hooks against a real Faktory: startup runs after connecting and
 * before the first FETCH (and a failing one stops everything), quiet runs
 * whenever the worker goes quiet, shutdown runs after the running jobs
 * settled and before the connections close; hooks that throw are logged
 * and strand no job. And SIGTTIN, which logs the running jobs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Client, FaktoryError, type Logger, randomJid, silentLogger, Worker } from "../mod.ts";
import { exitWithin, runtimeCommand, startChild } from "./harness/child.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { startProxy } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";

let server: FaktoryServer;
let client: Client;
before(async () => {
  server = await startFaktory({ web: true });
  client = await Client.connect({ url: server.url, logger: silentLogger });
});
after(async () => {
  await client?.close();
  await server?.stop();
});

const unique = (name: string) => `${name}-${randomJid().slice(0, 8)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger that keeps its lines. */
function recording(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  return { lines, debug: record, info: record, warn: record, error: record };
}

/** A job that runs until `release` is called. */
function blocker() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { release, handler: () => released };
}

describe("lifecycle hooks", () => {
  test("startup runs after connecting and before the first FETCH, and can push", async () => {
    const queue = unique("startup");
    await client.push({ jid: randomJid(), jobtype: "Work", args: [], queue });
    const events: string[] = [];
    await using proxy = await startProxy(server);
    const fetches = () => proxy.stats.connections; // fetchers connect when fetching starts
    const worker = new Worker({
      url: proxy.url,
      queues: [queue],
      concurrency: 1,
      logger: silentLogger,
      hooks: {
        async startup(w) {
          events.push(`startup (${w.status}, ${fetches()} connections)`);
          await sleep(300);
          await w.jobs.perform({ jobtype: "Work", queue }, []);
          events.push("startup done");
        },
      },
    });
    worker.register("Work", () => void events.push("job"));
    const running = worker.run();
    await until(() => events.filter((e) => e === "job").length === 2);
    await worker.stop();
    await running;
    // Only the heartbeat was open: no fetcher yet, and the reporting pool
    // connects at its first call (the hook's push) or after the first fetcher.
    assert.deepEqual(events, ["startup (running, 1 connections)", "startup done", "job", "job"]);
  });

  test("a failing startup hook rejects run(): nothing is fetched, the connections close, no other hook runs", async () => {
    const queue = unique("startup-fails");
    await client.push({ jid: randomJid(), jobtype: "Work", args: [], queue });
    await using proxy = await startProxy(server);
    const called: string[] = [];
    const worker = new Worker({
      url: proxy.url,
      queues: [queue],
      logger: silentLogger,
      handleSignals: true,
      hooks: {
        startup: () => Promise.reject(new RangeError("no database")),
        quiet: () => void called.push("quiet"),
        shutdown: () => void called.push("shutdown"),
      },
    });
    worker.register("Work", () => void called.push("job"));
    const listeners = process.listenerCount("SIGTERM");
    await assert.rejects(worker.run(), (e: Error) => e instanceof RangeError);
    assert.equal(worker.status, "stopped");
    await worker.stop(); // resolves at once
    await until(() => proxy.stats.open === 0, 5_000, "every connection closed");
    assert.equal(process.listenerCount("SIGTERM"), listeners, "the signal handlers are removed");
    assert.deepEqual(called, []);
    assert.equal((await client.info()).faktory.queues[queue], 1, "the job was not fetched");
    await assert.rejects(worker.jobs.perform({ jobtype: "Work" }, []), /not running/);

    // Stopped while the startup hook runs, which then fails: still no other hook.
    const later: string[] = [];
    const slow = new Worker({
      url: server.url,
      queues: [queue],
      logger: silentLogger,
      hooks: {
        startup: () => sleep(200).then(() => Promise.reject(new RangeError("too late"))),
        quiet: () => void later.push("quiet"),
        shutdown: () => void later.push("shutdown"),
      },
    });
    const running = slow.run();
    await sleep(50);
    const stopped = slow.stop();
    await assert.rejects(running, RangeError);
    await stopped;
    await sleep(50);
    assert.deepEqual(later, []);
  });

  test("quiet runs when the worker goes quiet, by quiet(), by the server, or on the way to stopping; running jobs go on", async () => {
    for (const how of ["quiet()", "web UI", "stop()"] as const) {
      const queue = unique("quiet");
      const calls: string[] = [];
      const { release, handler } = blocker();
      const worker = new Worker({
        url: server.url,
        queues: [queue],
        heartbeatInterval: 200,
        logger: silentLogger,
        hooks: {
          quiet: (w) => void calls.push(`quiet ${w.status} ${w.busy}`),
          shutdown: (w) => void calls.push(`shutdown ${w.busy}`),
        },
      });
      worker.register("Block", handler);
      worker.on("success", () => void calls.push("ACK"));
      const running = worker.run();
      await client.push({ jid: randomJid(), jobtype: "Block", args: [], queue });
      await until(() => worker.busy === 1);
      if (how === "quiet()") worker.quiet();
      else if (how === "web UI") {
        const body = new URLSearchParams({ wid: worker.wid, signal: "quiet" });
        const res = await fetch(`${server.webUrl}/busy`, {
          method: "POST",
          body,
          redirect: "manual",
        });
        await res.body?.cancel();
        assert.ok(res.status === 302 || res.status === 200, `web UI answered ${res.status}`);
      }
      const stopping = how === "stop()" ? worker.stop() : undefined;
      await until(() => calls.length === 1, 10_000, `the quiet hook (${how})`);
      assert.match(calls[0]!, /^quiet (quiet|stopping) 1$/, how);
      release();
      await until(() => calls.includes("ACK"), 10_000, `the job was ACKed (${how})`);
      await (stopping ?? worker.stop());
      await running;
      assert.deepEqual(calls.slice(1), ["ACK", "shutdown 0"], how);
    }
  });

  test("shutdown runs after the running jobs settled, before the connections close, and can push", async () => {
    const queue = unique("shutdown");
    const after = unique("after");
    await using proxy = await startProxy(server);
    const calls: string[] = [];
    const { release, handler } = blocker();
    const worker = new Worker({
      url: proxy.url,
      queues: [queue],
      logger: silentLogger,
      hooks: {
        async shutdown(w) {
          calls.push(
            `shutdown busy=${w.busy} running=${w.running().length}`,
          );
          await w.jobs.perform({ jobtype: "Report", queue: after }, ["done"]);
        },
      },
    });
    worker.register("Block", handler);
    worker.on("success", () => void calls.push("ACK"));
    const running = worker.run();
    await client.push({ jid: randomJid(), jobtype: "Block", args: [], queue });
    await until(() => worker.busy === 1);
    const stopped = worker.stop();
    await sleep(200);
    assert.deepEqual(calls, [], "the job still runs: shutdown waits");
    release();
    await stopped;
    await running;
    assert.deepEqual(calls, ["ACK", "shutdown busy=0 running=0"]);
    assert.equal((await client.info()).faktory.queues[after], 1, "the hook pushed");
    await until(() => proxy.stats.open === 0, 5_000, "then every connection closed");
  });

  test("quiet and shutdown hooks that throw are logged and emitted; jobs are still reported and stop resolves", async () => {
    const queue = unique("throwing");
    const logger = recording();
    const errors: Error[] = [];
    const { release, handler } = blocker();
    const worker = new Worker({
      url: server.url,
      queues: [queue],
      logger,
      hooks: {
        quiet: () => {
          throw new Error("quiet went wrong");
        },
        shutdown: () => Promise.reject(new Error("shutdown went wrong")),
      },
    });
    worker.register("Block", handler);
    worker.on("error", (e) => void errors.push(e));
    const acked: string[] = [];
    worker.on("success", (job) => void acked.push(job.jid));
    const running = worker.run();
    const jid = randomJid();
    await client.push({ jid, jobtype: "Block", args: [], queue });
    await until(() => worker.busy === 1);
    const stopped = worker.stop();
    await until(() => errors.length === 1);
    release();
    await stopped;
    await running;
    assert.deepEqual(acked, [jid]);
    assert.deepEqual(errors.map((e) => [e instanceof FaktoryError, e.message]), [
      [true, "The quiet hook failed: quiet went wrong"],
      [true, "The shutdown hook failed: shutdown went wrong"],
    ]);
    assert.ok(
      logger.lines.some((l) => l.includes("The shutdown hook failed")),
      logger.lines.join("\n"),
    );
    assert.equal((await client.info()).faktory.sets.working, 0, "nothing is left reserved");
  });

  test("a hook object is checked like any option", () => {
    assert.throws(
      () => new Worker({ hooks: { startup: "yes" as never } }),
      /Invalid hooks\.startup/,
    );
    assert.throws(
      () => new Worker({ hooks: { shutdwn: () => {} } as never }),
      /use "hooks.shutdown"/,
    );
    assert.throws(() => new Worker({ context: { db: 1 } as never }), /Invalid context/);
  });
});

describe("SIGTTIN", { skip: process.platform === "win32" }, () => {
  test("with handleSignals, SIGTTIN logs the running jobs; SIGTSTP runs the quiet hook; SIGTERM stops", async () => {
    const queue = unique("ttin");
    const jid = randomJid();
    await client.push({ jid, jobtype: "Block", args: [], queue });
    const [command, args] = runtimeCommand("tests/fixtures/ttin_worker.ts");
    await using child = startChild(command, args, {
      FAKTORY_URL: server.url,
      FAKTORY_QUEUE: queue,
    });
    await child.waitFor((lines) => lines.includes(`RUNNING ${jid}`), 30_000);
    process.kill(child.process.pid!, "SIGTTIN");
    const lines = await child.waitFor(
      (l) => l.some((line) => line.includes(`${jid} Block`)),
      10_000,
    );
    const at = lines.findIndex((l) => /^Worker \S+ \(running\) is running 1 job\(s\)$/.test(l));
    assert.ok(at >= 0, child.output());
    assert.match(
      lines[at + 1]!,
      new RegExp(`^  ${jid} Block from ${queue}, started \\S+Z, running for \\d+ ms$`),
    );
    child.signal("SIGTSTP");
    await child.waitFor((l) => l.includes("QUIET"), 10_000);
    child.signal("SIGTERM");
    const exit = await exitWithin(child, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, child.output());
    assert.ok(child.lines.includes("STOPPED"), child.output());
  });
});

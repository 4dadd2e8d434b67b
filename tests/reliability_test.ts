/**
 * Reliability: reconnects with backoff, restarts under a running worker,
 * network faults injected by a proxy, garbage from the server, and the
 * security properties (no command injection, no leaked password, TLS names).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import process from "node:process";
import { inspect } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";
import {
  AuthenticationError,
  Client,
  ConnectionError,
  FaktoryError,
  type JobPayload,
  loadRuntime,
  type Logger,
  ProtocolError,
  randomJid,
  type Runtime,
  silentLogger,
  TimeoutError,
  ValidationError,
  Worker,
} from "../mod.ts";
import { mutate } from "../src/protocol/command.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { seededRandom, startProxy } from "./harness/proxy.ts";
import { jobsIn, redis } from "./harness/redis.ts";
import { until } from "./harness/until.ts";

// Every rejection nobody handled, from anywhere in this file's tests.
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => void unhandled.push(reason));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const job = (queue: string, extra: Partial<JobPayload> = {}): JobPayload => ({
  jid: randomJid(),
  jobtype: "Test",
  args: [],
  queue,
  ...extra,
});

/** A full garbage collection: V8's (Node and Deno), or Bun's own `gc(true)`. */
const gc = (() => {
  const bun = (globalThis as { Bun?: { gc?: (full: boolean) => void } }).Bun;
  if (bun?.gc) return () => bun.gc!(true);
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

/** Heap in use, after a full collection when one can be forced. */
function liveHeap(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

const base = await loadRuntime();

/** The runtime of this process, counting connect attempts. */
function countingRuntime(): Runtime & { connects: number } {
  const counting = {
    ...base,
    connects: 0,
    connect(options: Parameters<Runtime["connect"]>[0]) {
      counting.connects++;
      return base.connect(options);
    },
  };
  return counting;
}

/** A logger that keeps every line, data included, as text. */
function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, ...data: unknown[]) =>
    void lines.push([level, message, ...data.map((d) => inspect(d, { depth: 5 }))].join(" "));
  return {
    lines,
    debug: keep("debug"),
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
  };
}

/** Pushes until the server confirms; returns whether it had to push again (a duplicate is possible). */
async function pushSurely(client: Client, payload: JobPayload): Promise<boolean> {
  for (let attempt = 0;; attempt++) {
    try {
      await client.push(payload);
      return attempt > 0;
    } catch (e) {
      if (!(e instanceof ConnectionError) || attempt > 200) throw e;
      await sleep(20);
    }
  }
}

/** Jids reserved by the server (fetched, not yet ACKed or FAILed). */
async function working(server: FaktoryServer): Promise<Set<string>> {
  const entries = await redis(server, "ZRANGE", "working", "0", "-1");
  return new Set(entries.map((e) => (JSON.parse(e) as { job: { jid: string } }).job.jid));
}

describe("reconnecting to a real Faktory", () => {
  test("a client backs off while the server is down, shares one attempt, and says HELLO again after a restart", async () => {
    await using server = await startFaktory();
    const runtime = countingRuntime();
    await using client = await Client.connect({
      url: server.url,
      wid: "reconnect-1",
      runtime,
      logger: silentLogger,
    });
    assert.equal(await client.beat(), null);
    await server.kill();
    const connectsBefore = runtime.connects;
    let rounds = 0;
    const end = Date.now() + 3_000;
    while (Date.now() < end) {
      // Many callers at once while the server is down: one connect attempt for all.
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.info()));
      assert.ok(
        results.every((r) => r.status === "rejected" && r.reason instanceof ConnectionError),
      );
      rounds++;
    }
    const attempts = runtime.connects - connectsBefore;
    assert.ok(attempts <= rounds, `${attempts} connects for ${rounds} rounds of 20 calls`);
    assert.ok(
      attempts >= 2 && attempts <= 20,
      `${attempts} connects in 3 s: backoff, not a busy loop`,
    );
    await server.restart();
    const restarted = Date.now();
    await until(() => client.info().then(() => true, () => false), 10_000, "reconnect");
    assert.ok(Date.now() - restarted < 7_000, "back within the backoff cap");
    // The restarted server knows nothing of this wid: BEAT works only after a fresh HELLO.
    assert.equal(await client.beat(), null);
    assert.deepEqual(unhandled, []);
  });

  test("close() during the backoff wait ends it at once", async () => {
    // Connects at first to a test double, then the port goes dead.
    const double = await fakeServer(() => {});
    const client = await Client.connect({ url: double.url, logger: silentLogger });
    await double.stop();
    for (let i = 0; i < 6; i++) await client.info().catch(() => {});
    const waiting = client.info().catch((e) => e);
    await sleep(20);
    const start = Date.now();
    await client.close();
    assert.ok((await waiting) instanceof ConnectionError);
    assert.ok(Date.now() - start < 500, `close took ${Date.now() - start} ms`);
  });

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

describe("network faults through a proxy", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  test("a reply cut at any byte rejects with ConnectionError, and the next command reconnects", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    for (const bytes of [0, 1, 2, 5, 9, 40, 200]) {
      proxy.cutNextReply(bytes);
      const error = await client.info().catch((e) => e);
      assert.ok(error instanceof ConnectionError, `cut after ${bytes} bytes: ${error}`);
      assert.ok(!(error instanceof ProtocolError));
    }
    assert.equal(typeof (await client.info()).now, "string");
    // A FETCH reply cut mid-job: the job is not lost, the server holds it reserved.
    const big = job("cut-fetch", { args: ["x".repeat(20_000)] });
    await client.push(big);
    proxy.cutNextReply(1000);
    await assert.rejects(client.fetch(["cut-fetch"]), ConnectionError);
    assert.ok((await working(server)).has(big.jid), "reserved: retried when the reservation ends");
    await client.ack(big.jid);
    assert.equal(proxy.stats.cuts, 8);
  });

  test("a stalled link (half-open peer) times commands and connects out, on idle connections too", async () => {
    await using proxy = await startProxy(server);
    const options = {
      url: proxy.url,
      commandTimeout: 400,
      connectTimeout: 400,
      logger: silentLogger,
    };
    await using client = await Client.connect(options);
    await using idle = await Client.connect(options);
    proxy.stall();
    let start = Date.now();
    const error = await client.push(job("stall")).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(Date.now() - start < 1_500);
    // A connection idle while the peer vanished: its next command finds out in time.
    start = Date.now();
    assert.ok((await idle.info().catch((e) => e)) instanceof TimeoutError);
    assert.ok(Date.now() - start < 1_500);
    // Connecting through the stalled link times out as well.
    start = Date.now();
    const connect = await Client.connect(options).catch((e) => e);
    assert.ok(connect instanceof TimeoutError, String(connect));
    assert.ok(Date.now() - start < 1_500);
    proxy.resume();
    await until(() => client.info().then(() => true, () => false), 10_000, "recovery");
    await until(() => idle.info().then(() => true, () => false), 10_000, "recovery");
  });

  test("a slow link delivers every reply to the right caller", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    proxy.slow(30);
    const jobs = Array.from({ length: 30 }, (_, i) => job("slow", { args: [i] }));
    await Promise.all(jobs.map((j) => client.push(j)));
    const fetched = await Promise.all(jobs.map(() => client.fetch(["slow"])));
    assert.deepEqual(
      fetched.map((j) => j?.args[0]).sort((a, b) => Number(a) - Number(b)),
      jobs.map((_, i) => i),
    );
    await Promise.all(fetched.map((j) => client.ack(j!.jid)));
  });

  test("random cuts under load: no job lost, no hang, no unhandled rejection, bounded memory", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    const ran = new Map<string, number>();
    const worker = new Worker({
      url: proxy.url,
      queues: ["chaos"],
      concurrency: 20,
      heartbeatInterval: 1_000,
      logger: silentLogger,
    });
    worker.register("Chaos", () => {});
    worker.on("success", (j) => void ran.set(j.jid, (ran.get(j.jid) ?? 0) + 1));
    worker.on("error", () => {});
    const running = worker.run();
    // Faults start once the worker is up: run() gives up if it cannot connect at the start.
    const first = job("chaos", { jobtype: "Chaos" });
    await client.push(first);
    await until(() => ran.has(first.jid), 10_000, "worker up");
    const pushed: string[] = [];
    /**
     * Pushes `count` jobs of 8 KiB (50 in flight) and waits until they ran or
     * are reserved. Only their jids are kept: the payloads must not outlive the run.
     */
    const phase = async (count: number) => {
      const jids: string[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = Array.from(
          { length: 50 },
          () => job("chaos", { jobtype: "Chaos", args: ["x".repeat(8 * 1024)] }),
        );
        jids.push(...batch.map((j) => j.jid));
        await Promise.all(batch.map((j) => pushSurely(client, j)));
      }
      pushed.push(...jids);
      const settled = async () => {
        if (!jids.every((jid) => ran.has(jid))) {
          const reserved = await working(server);
          if (!jids.every((jid) => ran.has(jid) || reserved.has(jid))) return false;
        }
        const info = await client.info().catch(() => undefined);
        return info !== undefined && (info.faktory.queues["chaos"] ?? 0) === 0;
      };
      await until(settled, 40_000, "every job ran or is reserved");
    };
    try {
      proxy.chaos({ seed: 20240611, cutChance: 0.003 });
      await phase(1_000); // warm-up: what stays in memory after it is the baseline
      const before = liveHeap();
      await phase(3_000);
      proxy.chaos(undefined);
      // 3000 jobs of 8 KiB: keeping them would add 24 MiB.
      const growth = (liveHeap() - before) / 2 ** 20;
      const bound = 8;
      assert.ok(growth < bound, `heap grew ${growth.toFixed(1)} MiB (bound ${bound})`);
      assert.ok(proxy.stats.cuts >= 10, `${proxy.stats.cuts} cuts`);
      const reserved = await working(server);
      const lost = pushed.filter((jid) => !ran.has(jid) && !reserved.has(jid));
      assert.deepEqual(lost, [], "every job ran or waits in the server's reservations");
    } finally {
      await worker.stop();
      await running;
    }
    await until(() => proxy.stats.open <= 1, 5_000, "the worker's connections closed");
    assert.deepEqual(unhandled, []);
  });
});

describe("garbage from the server", () => {
  const invalid = [
    "?what\r\n",
    ":1\r\n",
    "*1\r\n$1\r\na\r\n",
    "$abc\r\n",
    "$-2\r\n",
    "$99999999999\r\n",
    "$3\r\nabcdef\r\n",
    "+" + "x".repeat(70 * 1024),
    "\x00\x01\x02\r\n",
  ];

  test("(test double: invalid RESP after HELLO) each reply ends in a ProtocolError and a closed connection", async () => {
    let next = 0;
    await using double = await fakeServer((_line, socket) => void socket.write(invalid[next++]!));
    await using client = await Client.connect({ url: double.url, logger: silentLogger });
    for (const reply of invalid) {
      const error = await client.info().catch((e) => e);
      assert.ok(error instanceof ProtocolError, `${JSON.stringify(reply.slice(0, 20))}: ${error}`);
      assert.match(error.message, /connection was closed/);
    }
    await until(() => double.open === 0, 5_000, "every connection closed");
    assert.equal(double.connections, invalid.length, "each command after garbage reconnected");
  });

  test("(test double: seeded random and mutated replies) every command settles with a library error or a value", async () => {
    const random = seededRandom(7);
    const valid = ["+OK\r\n", '$11\r\n{"now":"x"}\r\n', "$-1\r\n", "-ERR nope\r\n"];
    const garbage = () => {
      const bytes = random() < 0.5
        ? new TextEncoder().encode(valid[Math.floor(random() * valid.length)]!)
        : new Uint8Array(1 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      for (let flips = Math.floor(random() * 3); flips > 0; flips--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      return random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    };
    await using double = await fakeServer((_line, socket) => void socket.write(garbage()));
    const outcomes = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < 300; i++) {
      // A new client each time: one client backs off from a server that keeps sending garbage.
      await using client = await Client.connect({
        url: double.url,
        commandTimeout: 100,
        logger: silentLogger,
      });
      const outcome = await client.send(new TextEncoder().encode("INFO\r\n"), "INFO").then(
        () => "value",
        (e) => {
          assert.ok(e instanceof FaktoryError, `not a library error: ${e}`);
          return e.name;
        },
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    assert.ok(Date.now() - start < 40_000);
    assert.ok((outcomes.get("ProtocolError") ?? 0) > 100, JSON.stringify([...outcomes]));
    assert.deepEqual(unhandled, []);
  });

  test("(test double: garbage for FETCH) a worker logs errors, keeps going, and stops cleanly", async () => {
    const random = seededRandom(11);
    await using double = await fakeServer((line, socket) => {
      if (line.startsWith("FETCH")) {
        socket.write(new Uint8Array(32).map(() => Math.floor(random() * 256)));
      } else socket.write("+OK\r\n");
    });
    const errors: Error[] = [];
    const worker = new Worker({
      url: double.url,
      queues: ["q"],
      concurrency: 2,
      fetchers: 2,
      commandTimeout: 300, // garbage may look like the start of a reply that never ends
      logger: silentLogger,
    });
    worker.on("error", (e) => void errors.push(e));
    const running = worker.run();
    await until(() => errors.length >= 4, 10_000, "errors reported");
    const start = Date.now();
    await worker.stop();
    await running;
    assert.ok(Date.now() - start < 5_000);
    assert.ok(errors.every((e) => e instanceof ProtocolError || e instanceof ConnectionError));
    assert.deepEqual(unhandled, []);
  });

  test("(test double: FETCH returns JSON that is not a job) it is skipped with an error event, or FAILed when it has a jid", async () => {
    const replies = ["not json", '{"foo":1}', '{"jid":"malformed-1","args":[]}'];
    const fails: string[] = [];
    await using double = await fakeServer((line, socket) => {
      if (line.startsWith("FETCH")) {
        const text = replies.shift();
        socket.write(text === undefined ? "$-1\r\n" : `$${text.length}\r\n${text}\r\n`);
      } else {
        if (line.startsWith("FAIL")) fails.push(line);
        socket.write("+OK\r\n");
      }
    });
    const errors: Error[] = [];
    const worker = new Worker({
      url: double.url,
      queues: ["q"],
      fetchers: 1,
      logger: silentLogger,
    });
    worker.on("error", (e) => void errors.push(e));
    const running = worker.run();
    await until(() => fails.length === 1 && errors.length >= 3, 10_000, "FAIL sent");
    await worker.stop();
    await running;
    assert.ok(errors.every((e) => e instanceof ProtocolError), errors.join("\n"));
    const failed = JSON.parse(fails[0]!.slice(5)) as Record<string, unknown>;
    assert.equal(failed.jid, "malformed-1");
    assert.equal(failed.errtype, "ProtocolError");
    assert.deepEqual(unhandled, []);
  });
});

describe("security", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  const evil = ["a b", "a\rb", "a\nb", "x\r\nFLUSH", " ", ""];

  test("no argument can add a command: spaces, CR and LF are refused or escaped", async () => {
    await using client = await Client.connect({
      url: server.url,
      labels: ["label with space", "x\r\nFLUSH"], // JSON in HELLO: escaped, harmless
      logger: silentLogger,
    });
    const sentinel = job("sentinel");
    await client.push(sentinel);
    const count = async () => (await client.info()).server.command_count;
    const before = await count();
    for (const bad of evil) {
      const refused: [string, () => Promise<unknown>][] = [
        ["push queue", () => client.push(job(bad))],
        ["push jid", () => client.push({ ...job("q"), jid: bad })],
        ["fetch", () => client.fetch(["ok", bad])],
        ["ack", () => client.ack(bad)],
        ["fail", () => client.fail(bad, new Error("x"))],
        ["pause", () => client.pauseQueues([bad])],
        ["resume", () => client.resumeQueues([bad])],
        ["remove", () => client.removeQueues([bad])],
        ["latency", () => client.queueLatency([bad])],
        ["mutate jids", () => client.discard("retries", { jids: [bad] })],
        ["batch open", () => client.openBatch(bad)],
        ["batch commit", () => client.commitBatch(bad)],
        ["batch status", () => client.batchStatus(bad)],
        ["track get", () => client.getTracking(bad)],
      ];
      for (const [what, call] of refused) {
        await assert.rejects(call(), ValidationError, `${what} with ${JSON.stringify(bad)}`);
      }
      const options: [string, () => unknown][] = [
        ["worker queues", () => new Worker({ url: server.url, queues: [bad] })],
        ["worker weights", () => new Worker({ url: server.url, weights: { [bad]: 1 } })],
        ["worker id", () => new Worker({ url: server.url, workerId: bad })],
        ["client wid", () => Client.connect({ url: server.url, wid: bad })],
        ["namespace", () => Client.connect({ url: server.url, namespace: bad })],
      ];
      for (const [what, make] of options) {
        await assert.rejects(
          async () => await make(),
          ValidationError,
          `${what} ${JSON.stringify(bad)}`,
        );
      }
    }
    // None of that reached the server: only the INFO below did.
    assert.equal(await count(), before + 1);
    // Free text (MUTATE patterns and jobtypes) travels as one escaped JSON word.
    for (const bad of evil.filter((b) => b.trim() !== "")) {
      await client.discard("retries", { pattern: `*${bad}*`, jobtype: bad });
      const line = new TextDecoder().decode(mutate({ cmd: "discard", filter: { regexp: bad } }));
      assert.equal(line.indexOf("\r\n"), line.length - 2, "one line");
      assert.equal(line.slice(0, -2).split(" ").length, 2, "MUTATE and one JSON word");
    }
    assert.equal((await client.info()).faktory.queues["sentinel"], 1, "nothing was flushed");
  });

  test("the password never appears in a log line, an error, or a printed client or worker", async () => {
    const password = "s3cr3t-Pa55";
    const wrong = "wr0ng-Pa55";
    await using secured = await startFaktory({ password });
    const logger = capturingLogger();
    const texts: string[] = [];
    const keep = (e: unknown) => {
      for (let c = e; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause) {
        texts.push(String(c), (c as Error).stack ?? "", inspect(c, { depth: 5 }));
      }
      return e;
    };
    const withPassword = (pw: string, port: number) => `tcp://:${pw}@127.0.0.1:${port}`;
    // Refused password, nothing listening, a server that never greets.
    const refused = await Client.connect({ url: withPassword(wrong, secured.port), logger })
      .catch(keep);
    assert.ok(refused instanceof AuthenticationError);
    keep(
      await Client.connect({ url: withPassword(password, await freePort()), logger }).catch((e) =>
        e
      ),
    );
    await using silent = await stallingServer();
    const timedOut = await Client.connect({
      url: withPassword(password, silent.port),
      connectTimeout: 300,
      logger,
    }).catch(keep);
    assert.ok(timedOut instanceof TimeoutError);
    // A working client and worker through a restart.
    const client = await Client.connect({ url: secured.url, logger });
    texts.push(
      String(client),
      inspect(client, { depth: 5, showHidden: true }),
      JSON.stringify(client),
    );
    const worker = new Worker({
      url: secured.url,
      queues: ["pw"],
      heartbeatInterval: 1_000,
      logger,
    });
    texts.push(
      String(worker),
      inspect(worker, { depth: 5, showHidden: true }),
      JSON.stringify(worker),
    );
    let done = 0;
    worker.register("Pw", () => void done++);
    worker.on("error", keep);
    const running = worker.run();
    await client.push(job("pw", { jobtype: "Pw" }));
    await until(() => done === 1, 10_000, "job ran");
    await secured.kill();
    keep(await client.info().catch((e) => e));
    await sleep(1_500);
    await secured.restart();
    await client.push(job("pw", { jobtype: "Pw" })).catch(keep);
    await until(() => done === 2, 20_000, "job ran after restart");
    await worker.stop();
    await running;
    await client.close();
    texts.push(...logger.lines);
    assert.ok(logger.lines.length > 0 && texts.length > 10);
    for (const text of texts) {
      assert.ok(!text.includes(password), `password in: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(wrong), `wrong password in: ${text.slice(0, 300)}`);
    }
  });

  test("TLS: a certificate for another host name is refused with a clear error", async () => {
    await using tls = await startFaktory({ tls: true });
    const error = await Client.connect({
      url: tls.url,
      tls: { caCerts: [tls.caCert!], serverName: "not-the-server.example" },
      connectTimeout: 3_000,
      logger: silentLogger,
    }).catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /TLS handshake .* failed/);
    // The same CA with the right name works.
    await using ok = await Client.connect({
      url: tls.url,
      tls: { caCerts: [tls.caCert!] },
      logger: silentLogger,
    });
    assert.equal(typeof (await ok.info()).now, "string");
  });
});

// ---- test doubles ----------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A fake Faktory: greets, answers HELLO with +OK, and hands every later
 * command line to `answer`. Counts connections and how many are open.
 */
async function fakeServer(answer: (line: string, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, open: 0 };
  const srv = net.createServer((socket) => {
    state.connections++;
    state.open++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      state.open--;
      sockets.delete(socket);
    });
    socket.write('+HI {"v":2}\r\n');
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line.startsWith("HELLO")) socket.write("+OK\r\n");
        else if (line === "END") socket.end();
        else if (!socket.destroyed) answer(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => srv.close(resolve));
  };
  return {
    url: `tcp://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    get open() {
      return state.open;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A server that accepts and never says anything. */
async function stallingServer() {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}

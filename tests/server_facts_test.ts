/**
 * The server facts the library is built on, checked against the server this
 * pass runs (Faktory 1.10.0, and 1.9.4 in the compatibility pass): they run
 * in every pass, so a new server version that changes one fails here first.
 * Most talk to the server by hand (tests/harness/wire.ts), because the
 * library itself works around what they show.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type ServerInfo, ServerShuttingDownError } from "../mod.ts";
import { serverError } from "../src/errors.ts";
import { atLeast, startFaktory } from "./harness/faktory.ts";
import { jobsQueued, queueKey, redis } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";
import { fillConnections, helloWire, type Wire } from "./harness/wire.ts";

/** Sends one command and returns its reply. */
async function call(wire: Wire, line: string): Promise<string | null | undefined> {
  wire.send(line);
  return await wire.reply();
}

describe("Faktory server facts", () => {
  test("the server is the version this pass expects (INFO server.faktory_version)", async () => {
    await using faktory = await useFaktory();
    const { server } = await faktory.client.info();
    const expected = process.env["FAKTORY_EXPECT_VERSION"] || faktory.server.version;
    assert.equal(server.faktory_version, expected);
  });

  test("INFO has the shape src/info.ts describes", async () => {
    await using faktory = await useFaktory();
    await faktory.client.push({ jid: "shape-job-1", jobtype: "Shape", args: [], queue: "shape" });
    await using wire = await helloWire(faktory.server);
    const info = JSON.parse((await call(wire, "INFO"))!) as ServerInfo;
    const numbers = (o: object, keys: string[]) =>
      keys.forEach((k) => assert.equal(typeof o[k as keyof typeof o], "number", k));
    assert.equal(typeof info.now, "string");
    assert.ok(!Number.isNaN(Date.parse(info.now)), "now is a date");
    assert.match(info.server_utc_time, /^\d\d:\d\d:\d\d UTC$/);
    assert.equal(info.server.description, "Faktory");
    assert.equal(info.server.faktory_version, faktory.server.version);
    numbers(info.server, ["uptime", "connections", "command_count", "used_memory_mb"]);
    const f = info.faktory;
    numbers(f, ["total_failures", "total_processed", "total_enqueued", "total_queues"]);
    assert.deepEqual(f.queues, { shape: 1 });
    assert.deepEqual(Object.keys(f.sets).sort(), ["dead", "retries", "scheduled", "working"]);
    numbers(f.sets, ["dead", "retries", "scheduled", "working"]);
    assert.deepEqual(Object.keys(f.tasks).sort(), [
      "Busy",
      "Dead",
      "Retries",
      "Scheduled",
      "Workers",
    ]);
    for (const task of ["Busy", "Workers"]) numbers(f.tasks[task]!, ["reaped", "size"]);
    for (const task of ["Dead", "Retries", "Scheduled"]) {
      numbers(f.tasks[task]!, ["cycles", "enqueued", "size", "wall_time_sec"]);
    }
  });

  test("PUSH with an explicit retry changes the default of later jobs pushed without one", async () => {
    // The reason the client always sends `retry` (src/client.ts #prepare): the
    // server decodes a job into a struct whose retry points at its global default.
    await using faktory = await useFaktory();
    await using wire = await helloWire(faktory.server);
    const push = (jid: string, extra: Record<string, unknown>) =>
      call(wire, `PUSH ${JSON.stringify({ jid, jobtype: "R", args: [], queue: "r", ...extra })}`);
    assert.equal(await push("before-explicit", {}), "+OK");
    assert.equal(await push("explicit-retry", { retry: -1 }), "+OK");
    assert.equal(await push("after-explicit", {}), "+OK");
    const retries = Object.fromEntries(
      (await jobsQueued(faktory.server, "r")).map((j) => [j.jid, j.retry]),
    );
    assert.deepEqual(retries, {
      "before-explicit": 25,
      "explicit-retry": -1,
      "after-explicit": -1, // not 25: the default itself was overwritten
    });
  });

  test("a queue named like one of Faktory's keys: 1.10.0 keeps it apart under q:", async () => {
    await using faktory = await useFaktory();
    await faktory.client.push({ jid: "layout-job-1", jobtype: "L", args: [], queue: "retries" });
    // 1.9.4 keeps queue "retries" under the retry set's own key.
    const key = queueKey(faktory.server, "retries");
    assert.equal(key, atLeast(faktory.server.version, "1.10.0") ? "q:retries" : "retries");
    assert.deepEqual(await redis(faktory.server, "TYPE", key), ["list"]);
    assert.deepEqual((await jobsQueued(faktory.server, "retries")).map((j) => j.jid), [
      "layout-job-1",
    ]);
  });

  test("QUEUE LATENCY: seconds the oldest job has waited, 0 for an empty or unknown queue", async () => {
    await using faktory = await useFaktory();
    await using wire = await helloWire(faktory.server);
    await faktory.client.push({ jid: "latency-job1", jobtype: "L", args: [], queue: "lat" });
    const latency = async () => JSON.parse((await call(wire, "QUEUE LATENCY lat unknown"))!);
    const first = await latency();
    assert.deepEqual(Object.keys(first).sort(), ["lat", "unknown"]);
    assert.equal(first.unknown, 0);
    assert.ok(first.lat >= 0 && first.lat < 1, `first read ${first.lat}`);
    await until(async () => (await latency()).lat >= first.lat + 1, 5_000, "a second later");
    assert.match((await call(wire, "QUEUE LATENCY *"))!, /^-ERR .*wildcard/);
  });

  test("a stopping server refuses commands with -ERR shutdown in progress (a ServerShuttingDownError)", async () => {
    const server = await startFaktory();
    const wires = await Promise.all([1, 2, 3].map(() => helloWire(server)));
    const stopped = server.stop(); // SIGTERM now; the server closes within ~0.2 s
    // Each connection sends INFO until it gets an error or is closed.
    const ends = await Promise.all(wires.map(async (wire) => {
      for (;;) {
        const reply = await call(wire, "INFO");
        if (reply === undefined || reply?.startsWith("-")) return reply;
        await new Promise((r) => setTimeout(r, 2));
      }
    }));
    await stopped;
    assert.ok(ends.includes("-ERR shutdown in progress"), `replies: ${JSON.stringify(ends)}`);
    assert.ok(serverError("ERR shutdown in progress") instanceof ServerShuttingDownError);
  });

  test("over 2000 connections, a new one gets +OK to HELLO, then -ERR too many connections", async () => {
    await using faktory = await useFaktory();
    const open = await fillConnections(faktory.server, faktory.client);
    try {
      await using last = await helloWire(faktory.server); // the handshake still succeeds
      assert.equal(await last.reply(), "-ERR too many connections: 2001");
      await last.closed;
    } finally {
      for (const wire of open) wire.close();
    }
  });

  test("a command without its payload: 1.9.4 crashes, 1.10.0 answers -ERR internal error", async () => {
    // Why the library never sends PUSH, ACK, FAIL, BEAT or QUEUE without one.
    await using faktory = await useFaktory();
    await using wire = await helloWire(faktory.server);
    if (atLeast(faktory.server.version, "1.10.0")) {
      for (const verb of ["PUSH", "ACK", "FAIL", "QUEUE"]) {
        assert.equal(await call(wire, verb), "-ERR internal error", verb);
      }
      assert.equal(typeof (await faktory.client.info()).now, "string", "the server runs on");
    } else {
      assert.equal(await call(wire, "PUSH"), undefined, "the connection closed");
      await assert.rejects(faktory.client.info(), "the server is gone");
      await faktory.server.restart(); // for a clean stop
    }
  });
});

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BulkPushError,
  Client,
  loadRuntime,
  Producer,
  type Runtime,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { Pool } from "../src/pool.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";

const runtime = await loadRuntime();

/** The real runtime with some environment variables set. */
function withEnv(vars: Record<string, string>): Runtime {
  return { ...runtime, connect: runtime.connect, env: (name) => vars[name] ?? runtime.env(name) };
}

describe("producer on a real Faktory", () => {
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
  const size = async (queue: string) => (await client.info()).faktory.queues[queue] ?? 0;
  const connections = async () => (await client.info()).server.connections;

  test("the pool size comes from FAKTORY_POOL_SIZE, its queue from FAKTORY_QUEUE", async () => {
    const before = await connections();
    const runtime = withEnv({ FAKTORY_POOL_SIZE: "3", FAKTORY_QUEUE: "from-env" });
    const producer = await Producer.connect({ url: server.url, runtime, logger: silentLogger });
    assert.equal(await connections(), before + 3);
    await producer.perform({ jobtype: "E" }, []);
    assert.equal(await size("from-env"), 1);
    await producer.close();
    // The server notices the closed connections a moment after END.
    for (let i = 0; i < 100 && (await connections()) !== before; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await connections(), before);
  });

  test("a pool started with one connection grows to its size, only while every one is busy", async () => {
    const before = await connections();
    const pool = await Pool.connect({ url: server.url, logger: silentLogger }, 3, 1);
    try {
      assert.equal(await connections(), before + 1);
      // One call at a time never finds the connection busy.
      for (let i = 0; i < 20; i++) await pool.use((c) => c.info());
      assert.equal(await connections(), before + 1);
      // Bursts do, until the pool holds all three.
      const burst = (n: number) =>
        Promise.all(Array.from({ length: n }, () => pool.use((c) => c.info())));
      await until(
        async () => {
          await burst(20);
          return (await connections()) === before + 3;
        },
        10_000,
        "the pool grown to 3 connections",
      );
      await burst(50);
      assert.equal(await connections(), before + 3);
    } finally {
      await pool.close();
    }
  });

  test("many concurrent callers share the pool; every job lands", async () => {
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 3,
      logger: silentLogger,
    });
    const jids = await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) => producer.perform({ jobtype: "C", queue: "p-conc" }, [i]),
      ),
    );
    assert.equal(new Set(jids).size, 500);
    assert.equal(await size("p-conc"), 500);
  });

  test("performBulk pushes in batches of 1000 and returns every jid", async () => {
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
    });
    const args = Array.from({ length: 2500 }, (_, i) => [i] as [number]);
    const jids = await producer.performBulk({ jobtype: "B", queue: "p-bulk" }, args);
    assert.equal(jids.length, 2500);
    assert.equal(await size("p-bulk"), 2500);
  });

  test("a bulk push the server partly refuses throws BulkPushError with the refused jids", async () => {
    await using producer = await Producer.connect({
      url: server.url,
      poolSize: 1,
      logger: silentLogger,
      // Sneak an RFC 3339 date without time past the client's check, which the server refuses.
      middleware: [(job, next) => {
        if (job.args[0] === "bad") job.at = "2030-01-01";
        return next();
      }],
    });
    const error = await producer.performBulk({ jobtype: "R", queue: "p-refused" }, [["ok"], [
      "bad",
    ]])
      .catch((e) => e);
    assert.ok(error instanceof BulkPushError, String(error));
    assert.equal(Object.keys(error.refused).length, 1);
    assert.equal(await size("p-refused"), 1);
  });

  test("bad producer options are refused before connecting", async () => {
    const before = await connections();
    await assert.rejects(Producer.connect({ url: server.url, poolSize: 0 }), ValidationError);
    await assert.rejects(Producer.connect({ url: server.url, wid: "w" }), ValidationError);
    await assert.rejects(
      Producer.connect({ url: server.url, runtime: withEnv({ FAKTORY_POOL_SIZE: "many" }) }),
      /FAKTORY_POOL_SIZE/,
    );
    assert.equal(await connections(), before);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BulkPushError,
  loadRuntime,
  Producer,
  type Runtime,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { Pool } from "../src/pool.ts";
import { until } from "./harness/until.ts";
import { type Faktory, useFaktory } from "./harness/use_faktory.ts";

const runtime = await loadRuntime();

/** The real runtime with some environment variables set. */
function withEnv(vars: Record<string, string>): Runtime {
  return { ...runtime, connect: runtime.connect, env: (name) => vars[name] ?? runtime.env(name) };
}

describe("producer on a real Faktory", () => {
  /** Connections the server has open, from INFO. */
  const connections = async (faktory: Faktory) => (await faktory.client.info()).server.connections;

  test("the pool size comes from FAKTORY_POOL_SIZE, its queue from FAKTORY_QUEUE", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    const runtime = withEnv({ FAKTORY_POOL_SIZE: "3", FAKTORY_QUEUE: "from-env" });
    const producer = await Producer.connect({ url: faktory.url, runtime, logger: silentLogger });
    assert.equal(await connections(faktory), before + 3);
    await producer.perform({ jobtype: "E" }, []);
    assert.equal(await faktory.queueSize("from-env"), 1);
    await producer.close();
    // The server notices the closed connections a moment after END.
    await until(async () => (await connections(faktory)) === before, 5_000, "connections closed");
  });

  test("a pool started with one connection grows to its size, only while every one is busy", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    const pool = await Pool.connect({ url: faktory.url, logger: silentLogger }, 3, 1);
    try {
      assert.equal(await connections(faktory), before + 1);
      // One call at a time never finds the connection busy.
      for (let i = 0; i < 20; i++) await pool.use((c) => c.info());
      assert.equal(await connections(faktory), before + 1);
      // Bursts do, until the pool holds all three.
      const burst = (n: number) =>
        Promise.all(Array.from({ length: n }, () => pool.use((c) => c.info())));
      await until(
        async () => {
          await burst(20);
          return (await connections(faktory)) === before + 3;
        },
        10_000,
        "the pool grown to 3 connections",
      );
      await burst(50);
      assert.equal(await connections(faktory), before + 3);
    } finally {
      await pool.close();
    }
  });

  test("many concurrent callers share the pool; every job lands", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
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
    assert.equal(await faktory.queueSize("p-conc"), 500);
  });

  test("performBulk pushes in batches of 1000 and returns every jid", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
      poolSize: 1,
      logger: silentLogger,
    });
    const args = Array.from({ length: 2500 }, (_, i) => [i] as [number]);
    const jids = await producer.performBulk({ jobtype: "B", queue: "p-bulk" }, args);
    assert.equal(jids.length, 2500);
    assert.equal(await faktory.queueSize("p-bulk"), 2500);
  });

  test("a bulk push the server partly refuses throws BulkPushError with the refused jids", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
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
    assert.equal(await faktory.queueSize("p-refused"), 1);
  });

  test("bad producer options are refused before connecting", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    await assert.rejects(Producer.connect({ url: faktory.url, poolSize: 0 }), ValidationError);
    await assert.rejects(Producer.connect({ url: faktory.url, wid: "w" }), ValidationError);
    await assert.rejects(
      Producer.connect({ url: faktory.url, runtime: withEnv({ FAKTORY_POOL_SIZE: "many" }) }),
      /FAKTORY_POOL_SIZE/,
    );
    assert.equal(await connections(faktory), before);
  });
});

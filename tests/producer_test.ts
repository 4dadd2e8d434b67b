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

/** `callers` loops sharing `producer` until `jobs` jobs are pushed; resolves with their jids. */
async function pushers(producer: Producer, callers: number, jobs: number, queue = "p-load") {
  const jids: string[] = [];
  let claimed = 0;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (claimed < jobs) {
      const i = claimed++;
      jids.push(await producer.perform({ jobtype: "L", queue }, [i]));
    }
  }));
  return jids;
}

describe("producer on a real Faktory", () => {
  /** Connections the server has open, from INFO. */
  const connections = async (faktory: Faktory) => (await faktory.client.info()).server.connections;

  /**
   * Connections open once the server has counted a fresh handshake: Faktory
   * counts a connection just after it writes the HELLO `+OK`, so a read
   * right after a connect can miss it.
   */
  const settled = async (faktory: Faktory) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return await connections(faktory);
  };

  /** The most connections the server had open while `load` ran (sampled). */
  const peakDuring = async (faktory: Faktory, load: Promise<unknown>) => {
    let done = false;
    void load.finally(() => (done = true)).catch(() => {});
    let peak = await connections(faktory);
    while (!done) peak = Math.max(peak, await connections(faktory));
    await load;
    return peak;
  };

  test("FAKTORY_POOL_SIZE caps the pool, which opens one connection at connect; FAKTORY_QUEUE is its queue", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    const runtime = withEnv({ FAKTORY_POOL_SIZE: "3", FAKTORY_QUEUE: "from-env" });
    const producer = await Producer.connect({ url: faktory.url, runtime, logger: silentLogger });
    assert.equal(await settled(faktory), before + 1);
    await pushers(producer, 50, 1_000, "from-env");
    assert.ok((await connections(faktory)) <= before + 3, "no more than FAKTORY_POOL_SIZE");
    assert.equal(await faktory.queueSize("from-env"), 1_000);
    await producer.close();
    // The server notices the closed connections a moment after END.
    await until(async () => (await connections(faktory)) === before, 5_000, "connections closed");
  });

  test("a default producer grows past 4 connections under 50 concurrent pushers, and never past its cap", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    const producer = await Producer.connect({ url: faktory.url, logger: silentLogger });
    assert.equal(await settled(faktory), before + 1, "one connection at connect");
    let most = 0;
    await until(
      async () => {
        most = Math.max(most, (await peakDuring(faktory, pushers(producer, 50, 500))) - before);
        return most > 4;
      },
      10_000,
      "the pool grown past 4 connections",
    );
    await producer.close();
    await until(async () => (await connections(faktory)) === before, 5_000, "connections closed");
    // A cap holds however many callers queue.
    await using capped = await Producer.connect({
      url: faktory.url,
      poolSize: 6,
      logger: silentLogger,
    });
    let peak = 0;
    for (let round = 0; round < 5; round++) {
      peak = Math.max(peak, (await peakDuring(faktory, pushers(capped, 100, 1_000))) - before);
    }
    assert.ok(peak > 1, `the capped pool grew (peak ${peak})`);
    assert.ok(peak <= 6, `never above its cap of 6 (peak ${peak})`);
  });

  test("an idle pool shrinks back to one connection; no job is lost or pushed twice meanwhile", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    await using producer = await Producer.connect({
      url: faktory.url,
      poolIdleTimeout: 20,
      logger: silentLogger,
    });
    // A trickle of single pushes runs all along, so sweeps close
    // connections while calls start and end around them.
    let trickling = true;
    let trickled = 0;
    const trickle = (async () => {
      while (trickling) {
        await producer.perform({ jobtype: "T", queue: "p-shrink" }, [trickled++]);
      }
    })();
    const jids: string[] = [];
    try {
      for (let round = 0; round < 4; round++) {
        const burst = pushers(producer, 50, 500, "p-shrink");
        assert.ok((await peakDuring(faktory, burst)) > before + 2, "grown under the burst");
        jids.push(...await burst);
        // Back to one connection, which the trickle keeps busy, once the burst is over.
        await until(async () => (await connections(faktory)) === before + 1, 5_000, "pool shrunk");
      }
    } finally {
      trickling = false;
    }
    await trickle;
    assert.equal(new Set(jids).size, 2_000);
    assert.equal(await faktory.queueSize("p-shrink"), 2_000 + trickled);
    await until(async () => (await connections(faktory)) === before + 1, 5_000, "one left");
  });

  test("errors reach the callers of a grown pool, and it pushes again once the server is back", async () => {
    await using faktory = await useFaktory();
    await using producer = await Producer.connect({
      url: faktory.url,
      poolIdleTimeout: 60_000,
      backoff: { base: 10, max: 50 },
      logger: silentLogger,
    });
    await pushers(producer, 50, 500);
    // Refused before anything is sent, whatever the pool's size.
    await assert.rejects(
      producer.perform({ jobtype: "E", queue: "bad queue" }, []),
      ValidationError,
    );
    await assert.rejects(producer.perform({ jobtype: "E" }, [() => {}]), ValidationError);
    await faktory.server.kill();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, () => producer.perform({ jobtype: "E" }, [])),
    );
    assert.ok(outcomes.every((o) => o.status === "rejected"), "every push rejected");
    for (const o of outcomes) assert.ok((o as PromiseRejectedResult).reason instanceof Error);
    await faktory.server.restart();
    await until(
      () => producer.perform({ jobtype: "E", queue: "p-back" }, []).then(() => true, () => false),
      10_000,
      "a push after the restart",
    );
    await pushers(producer, 50, 200, "p-back");
    assert.ok((await faktory.queueSize("p-back")) >= 201);
  });

  test("a pool started with one connection grows to its size, only while every one is busy", async () => {
    await using faktory = await useFaktory();
    const before = await connections(faktory);
    const pool = await Pool.connect({ url: faktory.url, logger: silentLogger }, 3, 1);
    try {
      assert.equal(await settled(faktory), before + 1);
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

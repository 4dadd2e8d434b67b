/**
 * Reconnecting: a client backs off while the server is down, shares one
 * connect attempt among its callers, and says HELLO again after a restart.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, ConnectionError, silentLogger } from "../mod.ts";
import { fakeServer } from "./harness/doubles.ts";
import { startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";
import { countingRuntime, sleep, unhandledRejections } from "./harness/watch.ts";

const unhandled = unhandledRejections();

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
});

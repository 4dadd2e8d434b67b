/**
 * A worker against a hostile or broken server, from the scripted fake of
 * tests/harness/hostile.ts (a real Faktory cannot be made to stall): a stop
 * during the first connect ends it at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger, Worker } from "../mod.ts";
import { silent, startHostile } from "./harness/hostile.ts";
import { until } from "./harness/until.ts";

// ---- stop during the first connect ------------------------------------------------

test("stop during the first connect (test double: a server that never greets) ends it at once, and run resolves", async () => {
  await using server = await startHostile(silent);
  const worker = new Worker({ url: server.url(), connectTimeout: 30_000, logger: silentLogger });
  const running = worker.run();
  await until(() => server.accepted >= 1, 10_000, "the connect under way");
  const started = performance.now();
  await worker.stop();
  await running;
  const ms = performance.now() - started;
  assert.ok(ms < 2_000, `stop took ${ms} ms`);
  assert.equal(worker.status, "stopped");
});

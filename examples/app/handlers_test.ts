// examples/app/handlers_test.ts: the same handlers, tested without a server
import assert from "node:assert/strict";
import { test } from "node:test";
import { fake } from "../../src/testing.ts"; // "@faktory-ts/faktory/testing" in your app
import { Database } from "./db.ts";
import { registerHandlers } from "./handlers.ts";
import { ImportOrders, SendReceipt } from "./jobs.ts";

test("an import stores the orders, pushes a receipt for each and reports progress", async () => {
  const db = new Database("memory://test");
  await db.connect();
  const jobs = fake({ context: () => ({ db }) }); // the values the worker would give
  registerHandlers(jobs);
  await jobs.perform([ImportOrders, { tracked: true }], ["orders.csv"]);
  await jobs.drain({ jobtype: ImportOrders });
  assert.deepEqual(jobs.jobsOf(SendReceipt).map((j) => j.args[0]), [1, 2, 3]);
  assert.deepEqual(jobs.progress.map((p) => p.percent), [33, 67, 100]);
  await jobs.drain(); // the receipts
  assert.equal((await db.order(3)).email, "buyer3@example.com");
  await db.close();
});

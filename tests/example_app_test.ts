/**
 * The README's app (examples/app/) does what the README says, run as its
 * own processes on this test's runtime (`deno run -A`, `bun run`, or the
 * tsc-compiled copy on the npm build in Node): the worker opens its database
 * in the startup hook, imports a file, pushes a receipt job per order,
 * reports progress for a tracked import, and closes the database in the
 * shutdown hook on SIGTERM. Progress needs Faktory Enterprise: the worker
 * talks to a real Faktory through the Enterprise double, which answers TRACK.
 * The app's own test (examples/app/handlers_test.ts) runs here too.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, silentLogger } from "../mod.ts";
import { exitWithin, runtimeCommand, runToEnd, startChild } from "./harness/child.ts";
import { type EnterpriseDouble, startEnterpriseDouble } from "./harness/enterprise.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";
import "../examples/app/handlers_test.ts";

let server: FaktoryServer;
let double: EnterpriseDouble;
before(async () => {
  server = await startFaktory();
  double = await startEnterpriseDouble(server);
});
after(async () => {
  await double?.[Symbol.asyncDispose]();
  await server?.stop();
});

describe("the example app", () => {
  test("imports, pushes receipts, reports progress and closes its database on SIGTERM (test double: TRACK answered in front of a real Faktory)", async () => {
    const env = { FAKTORY_URL: double.url };
    const [command, workerArgs] = runtimeCommand("examples/app/worker.ts");
    await using worker = startChild(command, workerArgs, env);
    await worker.waitFor((lines) => lines.includes("database connected (memory://orders)"), 30_000);

    const [, pushArgs] = runtimeCommand("examples/app/push.ts");
    const tracked = (await runToEnd(command, [...pushArgs, "orders-may.csv", "--track"], env))
      .lines[0]!;
    assert.match(tracked, /^[0-9a-f]{24}$/);
    const receipts = (lines: readonly string[]) =>
      lines.filter((l) => /^receipt for order/.test(l));
    await worker.waitFor((lines) => receipts(lines).length === 3, 30_000);
    // The last receipt can run before the import's last progress report lands.
    await until(() => double.tracked().length >= 3, 10_000, "three progress reports");
    assert.deepEqual(double.tracked().map((t) => [t.jid, t.percent]), [
      [tracked, 33],
      [tracked, 67],
      [tracked, 100],
    ]);
    // Untracked: no progress reports.
    await runToEnd(command, [...pushArgs, "orders-june.csv"], env);
    await worker.waitFor((lines) => receipts(lines).length === 6, 30_000);
    assert.equal(double.tracked().length, 3);
    // The receipts run side by side: any order.
    assert.deepEqual(receipts(worker.lines).slice(0, 3).sort(), [
      "receipt for order 1 sent to buyer1@example.com",
      "receipt for order 2 sent to buyer2@example.com",
      "receipt for order 3 sent to buyer3@example.com",
    ]);

    worker.signal("SIGTERM");
    const exit = await exitWithin(worker, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.output());
    const closed = worker.lines.indexOf("database closed");
    const stopped = worker.lines.findIndex((l) => /^Worker \S+ stopped$/.test(l));
    assert.ok(closed >= 0 && stopped > closed, `closed by the shutdown hook${worker.output()}`);
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const info = await client.info();
    assert.equal(info.faktory.sets.working, 0, "nothing is left reserved");
    assert.equal(info.faktory.sets.retries, 0, "nothing failed");
  });
});

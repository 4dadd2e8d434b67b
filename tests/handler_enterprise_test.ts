/**
 * Faktory Enterprise from inside a handler: progress (TRACK SET, and
 * `reserveUntil` moving the worker's own deadline), the job's own batch,
 * batches filled in a scope, and a callback that knows its batch. Jobs go
 * through a real Faktory; BATCH and TRACK are answered by the Enterprise
 * double in front of it (tests/harness/enterprise.ts), which the names say.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BatchNotCommittedError,
  buildPayload,
  Client,
  EnterpriseRequiredError,
  JobTimeoutError,
  Producer,
  randomJid,
  silentLogger,
  Worker,
  type WorkerOptions,
} from "../mod.ts";
import { type EnterpriseDouble, startEnterpriseDouble } from "./harness/enterprise.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";

let server: FaktoryServer;
let double: EnterpriseDouble;
let client: Client;
before(async () => {
  server = await startFaktory();
  double = await startEnterpriseDouble(server);
  client = await Client.connect({ url: double.url, logger: silentLogger });
});
after(async () => {
  await client?.close();
  await double?.[Symbol.asyncDispose]();
  await server?.stop();
});

const unique = (name: string) => `${name}-${randomJid().slice(0, 8)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a worker on `queue` until `done` holds, then stops it; returns what it reported. */
async function work(
  options: WorkerOptions,
  setup: (worker: Worker) => void,
  done: (outcomes: Map<string, unknown>) => boolean,
): Promise<Map<string, unknown>> {
  const worker = new Worker({ logger: silentLogger, ...options });
  const outcomes = new Map<string, unknown>(); // jid: "ACK" or the error
  worker.on("success", (job) => outcomes.set(job.jid, "ACK"));
  worker.on("failure", (job, error) => outcomes.set(job.jid, error));
  setup(worker);
  const running = worker.run();
  try {
    await until(() => done(outcomes), 20_000, "the jobs were reported");
  } finally {
    await worker.stop();
    await running;
  }
  return outcomes;
}

describe("Enterprise from a handler (test double: BATCH and TRACK answered in front of a real Faktory)", () => {
  test("ctx.progress sends TRACK SET for the job (test double)", async () => {
    const queue = unique("progress");
    const jid = randomJid();
    await client.push({ jid, jobtype: "Import", args: [], queue, custom: { track: 1 } });
    const outcomes = await work(
      { url: double.url, queues: [queue] },
      (w) =>
        w.register("Import", async (job, ctx) => {
          assert.ok(job.tracked);
          await ctx.progress({ percent: 10, description: "Reading rows" });
          await ctx.progress({ percent: 100 });
        }),
      (o) => o.size === 1,
    );
    assert.equal(outcomes.get(jid), "ACK");
    assert.deepEqual(double.tracked().filter((t) => t.jid === jid), [
      { jid, percent: 10, desc: "Reading rows" },
      { jid, percent: 100 },
    ]);
  });

  test("reserveUntil moves the worker's own deadline: the job outlives its first one (test double)", async () => {
    // reserve_for 60 s, margin 59 s: the signal aborts 1 s after the start,
    // unless a progress report moves the reservation's end: here 30 days on,
    // past what one setTimeout can wait (2^31-1 ms, about 24.9 days).
    const queue = unique("reserve");
    const extended = randomJid();
    const notExtended = randomJid();
    for (const [jid, kind] of [[extended, "extend"], [notExtended, "none"]]) {
      await client.push({ jid: jid!, jobtype: "Long", args: [kind], queue, reserve_for: 60 });
    }
    const outcomes = await work(
      { url: double.url, queues: [queue], reservationMargin: 59_000, concurrency: 2 },
      (w) =>
        w.register<[string]>("Long", async (job, ctx) => {
          const end = new Date(Date.now() + 30 * 86_400_000);
          if (job.args[0] === "extend") await ctx.progress({ reserveUntil: end });
          await sleep(2_500);
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }),
      (o) => o.size === 2,
    );
    assert.equal(outcomes.get(extended), "ACK", "the extended job ran to its end");
    assert.ok(
      outcomes.get(notExtended) instanceof JobTimeoutError,
      String(outcomes.get(notExtended)),
    );
    const sent = double.tracked().find((t) => t.jid === extended)!;
    assert.ok(
      Date.parse(String(sent.reserve_until)) > Date.now() + 60_000,
      String(sent.reserve_until),
    );
  });

  test("a reserveUntil before the reservation's end does not shorten the deadline (test double)", async () => {
    // reserve_for 60 s, margin 50 s: the signal aborts 10 s after the start.
    // Moved to 52 s from now, it would abort after 2 s.
    const queue = unique("earlier");
    const jid = randomJid();
    await client.push({ jid, jobtype: "Long", args: [], queue, reserve_for: 60 });
    const outcomes = await work(
      { url: double.url, queues: [queue], reservationMargin: 50_000 },
      (w) =>
        w.register("Long", async (_job, ctx) => {
          await ctx.progress({ reserveUntil: new Date(Date.now() + 52_000) });
          await sleep(4_000);
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }),
      (o) => o.size === 1,
    );
    assert.equal(outcomes.get(jid), "ACK");
    assert.equal(double.tracked().filter((t) => t.jid === jid).length, 1);
  });

  test("a refused progress report rejects and leaves the deadline as it was (open-source server)", async () => {
    const queue = unique("refused");
    const jid = randomJid();
    const seen: unknown[] = [];
    await client.push({ jid, jobtype: "Long", args: [], queue, reserve_for: 60 });
    const outcomes = await work(
      { url: server.url, queues: [queue], reservationMargin: 59_000 },
      (w) =>
        w.register("Long", async (_job, ctx) => {
          await ctx.progress({ reserveUntil: new Date(Date.now() + 120_000) }).catch((e) =>
            seen.push(e)
          );
          await sleep(2_500);
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }),
      (o) => o.size === 1,
    );
    assert.ok(seen[0] instanceof EnterpriseRequiredError, String(seen[0]));
    assert.ok(outcomes.get(jid) instanceof JobTimeoutError);
  });

  test("a job reopens its own batch, adds a job, commits; the callback knows its batch (test double)", async () => {
    const queue = unique("batch");
    await using producer = await Producer.connect({
      url: double.url,
      poolSize: 1,
      logger: silentLogger,
      defaults: { queue },
    });
    const success = buildPayload({ jobtype: "ImportDone", queue }, ["file-1"]);
    const bid = await producer.batch(
      { description: "Import file-1", success },
      async (jobs, id) => {
        await jobs.perform({ jobtype: "Step" }, [1]);
        return id;
      },
    );
    const seen: Record<string, unknown>[] = [];
    const options = { url: double.url, queues: [queue], defaults: { queue }, concurrency: 1 };
    await work(options, (w) => {
      w.register<[number]>("Step", async (job, ctx) => {
        seen.push({ step: job.args[0], batchId: job.batchId });
        if (job.args[0] === 1 && job.batchId) {
          await ctx.jobs.openBatch(job.batchId, (batch) => batch.perform({ jobtype: "Step" }, [2]));
        }
      });
      w.register("ImportDone", (job) => {
        seen.push({
          done: job.args[0],
          callbackBatchId: job.callbackBatchId,
          batchId: job.batchId,
        });
      });
    }, (o) => o.size === 3);
    assert.deepEqual(seen, [
      { step: 1, batchId: bid },
      { done: "file-1", callbackBatchId: bid, batchId: undefined },
      { step: 2, batchId: bid },
    ]);
    const batchCommands = double.commands.filter((c) => c.verb.startsWith("BATCH") && c.arg !== "")
      .map((c) => `${c.verb} ${c.verb === "BATCH NEW" ? "" : c.arg}`.trim());
    assert.deepEqual(batchCommands.slice(-4), [
      "BATCH NEW",
      `BATCH COMMIT ${bid}`,
      `BATCH OPEN ${bid}`,
      `BATCH COMMIT ${bid}`,
    ]);
  });

  test("a batch filled in a scope is committed only if the scope returns (test double)", async () => {
    const queue = unique("scope");
    const errors: unknown[] = [];
    const before = double.commands.length;
    await client.push({ jid: randomJid(), jobtype: "Fan", args: [], queue });
    await work({ url: double.url, queues: [queue], defaults: { queue } }, (w) => {
      w.register("Fan", async (_job, { jobs }) => {
        const fanned = await jobs.batch({ description: "fan out" }, async (batch) => {
          return await batch.performBulk({ jobtype: "Leaf" }, [[1], [2]]);
        });
        assert.equal(fanned.length, 2);
        await jobs.batch({ description: "broken" }, async (batch) => {
          await batch.perform({ jobtype: "Leaf" }, [3]);
          throw new Error("row 3 is corrupt");
        }).catch((e) => errors.push(e));
      });
      w.register<[number]>("Leaf", () => {});
    }, (o) => o.size === 4);
    const error = errors[0] as BatchNotCommittedError;
    assert.ok(error instanceof BatchNotCommittedError);
    assert.match(error.message, /^Batch "b-double-\d+" was not committed: row 3 is corrupt$/);
    assert.equal((error.cause as Error).message, "row 3 is corrupt");
    const sent = double.commands.slice(before).map((c) =>
      c.verb === "BATCH NEW" ? c.verb : `${c.verb} ${c.arg}`
    );
    assert.deepEqual(sent, [
      "BATCH NEW",
      `BATCH COMMIT ${sent[1]!.split(" ")[2]}`,
      "BATCH NEW",
    ]);
    assert.notEqual(`BATCH COMMIT ${error.bid}`, sent[1]);
  });
});

/**
 * Bulk pushes never half-send silently: every batch is built and checked
 * before the first is sent, and a connection lost part way says, by jid,
 * what was pushed and what was not. Against a real Faktory; a proxy cuts the
 * connection.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BulkPushError,
  Client,
  ConnectionError,
  defineJob,
  FaktoryError,
  type JobPayload,
  Producer,
  randomJid,
  schemaFrom,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { TestProducer } from "../src/testing.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { startProxy } from "./harness/proxy.ts";
import { jobsIn, jobsQueued, redis } from "./harness/redis.ts";

/** Lua for Redis: the jids of the jobs in the list KEYS[1]. */
const JIDS = "local r = {} for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do " +
  "r[#r + 1] = cjson.decode(v).jid end return r";

/** The jids waiting in a queue (Faktory 1.10 keeps queues under `q:`, 1.9 does not). */
async function jidsIn(server: FaktoryServer, queue: string): Promise<Set<string>> {
  const jids = await Promise.all(
    [`q:${queue}`, queue].map((key) => redis(server, "EVAL", JIDS, "1", key)),
  );
  return new Set(jids.flat());
}

describe("bulk pushes on a real Faktory", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(async () => {
    await server?.stop();
  });

  test("1000 small jobs then 1000 of 17 KB: all pushed, in batches under the size limit", async () => {
    await using producer = await Producer.connect({ url: server.url, logger: silentLogger });
    const big = "x".repeat(17 * 1024);
    const args = Array.from({ length: 2000 }, (_, i) => [i < 1000 ? "small" : big]);
    const jids = await producer.performBulk({ jobtype: "Mixed", queue: "bulk-mixed" }, args);
    assert.equal(jids.length, 2000);
    assert.deepEqual(await jidsIn(server, "bulk-mixed"), new Set(jids));
  });

  test("a job too large for any batch is refused before anything is pushed", async () => {
    await using producer = await Producer.connect({ url: server.url, logger: silentLogger });
    const args = Array.from({ length: 1500 }, (_, i) => [i === 1200 ? "x".repeat(17e6) : "ok"]);
    const error = await producer.performBulk({ jobtype: "Huge", queue: "bulk-huge" }, args)
      .catch((e: Error) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.match(error.message, /^Job \w+ is \d+ bytes of JSON, over the 16777216-byte limit/);
    assert.equal((await jidsIn(server, "bulk-huge")).size, 0);
  });

  test("a bad job in the last batch is refused before the first batch is sent", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const jobs: JobPayload[] = Array.from({ length: 2500 }, () => ({
      jid: randomJid(),
      jobtype: "Checked",
      args: [],
      queue: "bulk-bad",
    }));
    jobs[2400] = { ...jobs[2400]!, queue: "no spaces allowed" };
    await assert.rejects(client.pushBulk(jobs), (e: Error) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.match(e.message, /^Invalid jobs\[2400\]\.queue "no spaces allowed"/);
      return true;
    });
    assert.equal((await jidsIn(server, "bulk-bad")).size, 0);
  });

  test("a connection lost during the second batch: BulkPushError says what was pushed", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    // Cut the connection on the server's reply to the second PUSHB.
    let commands = 0;
    proxy.tap((chunk) => {
      const text = new TextDecoder("latin1").decode(chunk);
      commands += text.split("PUSHB [").length - 1;
      if (commands === 2) proxy.cutNextReply(0);
    });
    const jobs: JobPayload[] = Array.from({ length: 2500 }, () => ({
      jid: randomJid(),
      jobtype: "Cut",
      args: ["x".repeat(100)],
      queue: "bulk-cut",
    }));
    const error = await client.pushBulk(jobs).catch((e: Error) => e);
    assert.ok(error instanceof BulkPushError, String(error));
    assert.ok(error instanceof FaktoryError);
    assert.ok(error.cause instanceof ConnectionError, String(error.cause));
    const jids = jobs.map((j) => j.jid);
    assert.deepEqual(error.pushed, jids.slice(0, 1000));
    assert.deepEqual(error.unknown, jids.slice(1000, 2000));
    assert.deepEqual(error.notPushed, jids.slice(2000));
    assert.deepEqual(error.refused, {});
    assert.match(
      error.message,
      /^A bulk push of 2500 jobs stopped: .*; 1000 pushed, 500 not pushed, 1000 unknown/,
    );
    // What the server holds agrees: the second batch did arrive, its reply did not.
    const held = await jidsIn(server, "bulk-cut");
    assert.ok(error.pushed.every((jid) => held.has(jid)));
    assert.ok(error.notPushed.every((jid) => !held.has(jid)));
    assert.equal(held.size, 2000);
  });

  test("performBulk writes each job as perform does: every option, a namespace, a schedule", async () => {
    const url = `${server.url}/bulk-ns-`;
    await using producer = await Producer.connect({ url, logger: silentLogger });
    const options = {
      jobtype: "Same",
      queue: "bulk-same",
      once: true,
      reserveFor: 600,
      backtrace: 5,
      custom: { team: "a b", n: 1 },
    };
    const at = new Date(Date.now() + 3_600_000);
    const one = await producer.perform(options, [0, "x"]);
    const many = await producer.performBulk(options, [[1, "y"], [2, { z: null }]]);
    const later = await producer.perform([options, { at }], [3]);
    const laterMany = await producer.performBulk([options, { at }], [[4]]);
    // What the server stored, without what it adds or what differs by design.
    const strip = ({ jid: _, args: __, created_at: ___, enqueued_at: ____, ...rest }: object & {
      jid?: unknown;
      args?: unknown;
      created_at?: unknown;
      enqueued_at?: unknown;
    }) => rest;
    const queued = await jobsQueued(server, "bulk-ns-bulk-same");
    const byJid = new Map(queued.map((job) => [job.jid, job]));
    assert.deepEqual([one, ...many].map((jid) => byJid.get(jid)?.args), [[0, "x"], [1, "y"], [
      2,
      { z: null },
    ]]);
    assert.deepEqual(strip(byJid.get(many[1])!), strip(byJid.get(one)!));
    assert.equal(byJid.get(one)!.retry, -1);
    assert.deepEqual(byJid.get(one)!.custom, { team: "a b", n: 1 });
    const scheduled = new Map((await jobsIn(server, "scheduled")).map((job) => [job.jid, job]));
    assert.deepEqual(scheduled.get(laterMany[0])?.args, [4]);
    assert.deepEqual(strip(scheduled.get(laterMany[0])!), strip(scheduled.get(later)!));
    assert.equal(scheduled.get(later)!.queue, "bulk-ns-bulk-same");
  });

  test("every bulk push names bad args by their place, whichever path builds the jobs, before anything is pushed", async () => {
    const url = server.url;
    await using plain = await Producer.connect({ url, logger: silentLogger });
    await using mw = await Producer.connect({
      url,
      logger: silentLogger,
      middleware: [(_job, next) => next()],
    });
    const fake = new TestProducer();
    const kind = { jobtype: "Named", queue: "bulk-named" };
    const checked = defineJob("Named", { queue: "bulk-named", schema: schemaFrom((a) => a) });
    // [what pushes, the place it names]: the fast path, push middleware, a
    // schema, performMany, and the in-memory double.
    const pushers: [string, (list: unknown[]) => Promise<unknown>, string][] = [
      ["performBulk", (l) => plain.performBulk(kind, l as never), "argsList[1]"],
      ["with middleware", (l) => mw.performBulk(kind, l as never), "argsList[1]"],
      ["with a schema", (l) => plain.performBulk(checked, l as never), "argsList[1]"],
      ["performMany", (l) => plain.performMany(l.map((a) => [kind, a]) as never), "jobs[1][1]"],
      ["TestProducer", (l) => fake.performBulk(kind, l as never), "argsList[1]"],
    ];
    const esc = (s: string) => s.replace(/[[\]]/g, "\\$&");
    for (const [name, push, place] of pushers) {
      for (
        const [bad, says] of [
          [[1n], `${esc(place)}\\[0\\]: BigInt has no JSON form`],
          [
            [{ a: [() => 1] }],
            `${esc(place)}\\[0\\]\\.a\\[0\\]: a function cannot be sent as JSON`,
          ],
          ["no", `${esc(place)} for Named: args must be an array`],
        ] as const
      ) {
        await assert.rejects(push([["ok"], bad]), (e: Error) => {
          assert.ok(e instanceof ValidationError, `${name}: ${e}`);
          assert.match(e.message, new RegExp(`^Invalid ${says}`), name);
          return true;
        });
      }
    }
    // Client.pushBulk takes payloads: any field of one is named by the job's place.
    await using client = await Client.connect({ url, logger: silentLogger });
    const payload = (fields: Record<string, unknown>) => ({
      jid: randomJid(),
      jobtype: "Named",
      args: ["ok"],
      queue: "bulk-named",
      ...fields,
    });
    for (
      const [fields, says] of [
        [{ args: [{ a: [1n] }] }, /^Invalid jobs\[1\]\.args\[0\]\.a\[0\]: BigInt has no JSON form/],
        [{ args: "no" }, /^Invalid jobs\[1\]\.args "no": /],
        [{ args: undefined }, /^Invalid jobs\[1\]\.args undefined: /],
        [{ jid: "" }, /^Invalid jobs\[1\]\.jid "": /],
        [{ queue: "a b" }, /^Invalid jobs\[1\]\.queue "a b": /],
        [{ custom: { t: 1n } }, /^Invalid jobs\[1\]\.custom\.t: BigInt has no JSON form/],
        [{ quue: "x" }, /^Unknown option "jobs\[1\]\.quue": use "jobs\[1\]\.queue"/],
      ] as const
    ) {
      await assert.rejects(
        client.pushBulk([payload({}), payload(fields)] as never),
        (e: Error) => {
          assert.ok(e instanceof ValidationError, String(e));
          assert.match(e.message, says);
          return true;
        },
      );
    }
    await assert.rejects(
      client.pushBulk([payload({}), 7] as never),
      /^ValidationError: Invalid jobs\[1\] 7: pass an object/,
    );
    assert.equal((await jidsIn(server, "bulk-named")).size, 0);
    assert.equal(fake.pushed.length, 0);
  });

  test("jids that name Object.prototype members are just jids", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const jobs = ["constructor", "__proto__", "hasOwnProperty"].map((jid) => ({
      jid,
      jobtype: "Odd",
      args: [],
      queue: "bulk-odd",
    }));
    assert.deepEqual(await client.pushBulk(jobs), {});
    assert.equal((await jidsIn(server, "bulk-odd")).size, 3);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  jobCounts,
  type JobFilter,
  type JobPayload,
  queueSizes,
  randomJid,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { mutateCommand } from "../src/mutate.ts";
import type { FaktoryServer } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";

const decoder = new TextDecoder();

/** A job of its own queue, so that a FETCH returns exactly it. */
const job = (jobtype: string, extra: Partial<JobPayload> = {}): JobPayload => ({
  jid: randomJid(),
  jobtype,
  args: [],
  queue: `q-${randomJid().slice(0, 8)}`,
  ...extra,
});

/** Pushes, fetches and fails a job: it lands in the retry set (or dead set with retry -1). */
async function failed(client: Client, payload: JobPayload): Promise<JobPayload> {
  await client.push(payload);
  const fetched = await client.fetch([payload.queue!]);
  assert.equal(fetched?.jid, payload.jid, "fetched the job just pushed");
  await client.fail(payload.jid, new Error("boom"));
  return payload;
}
const toRetries = (client: Client, payload: JobPayload) => failed(client, payload);
const toDead = (client: Client, payload: JobPayload) => failed(client, { ...payload, retry: -1 });
const toScheduled = async (client: Client, payload: JobPayload) => {
  await client.push({ ...payload, at: new Date(Date.now() + 3_600_000).toISOString() });
  return payload;
};

/** The jids of `set` that are among `mine`, sorted. */
async function inSet(
  server: FaktoryServer,
  set: "retries" | "scheduled" | "dead",
  mine: readonly JobPayload[],
): Promise<string[]> {
  const jids = new Set(mine.map((j) => j.jid));
  return (await jobsIn(server, set)).map((j) => j.jid as string).filter((jid) => jids.has(jid))
    .sort();
}
const jidsOf = (jobs: readonly JobPayload[]) => jobs.map((j) => j.jid).sort();

describe("MUTATE on a real Faktory", () => {
  test("requeue by jobtype moves dead jobs back to their queue, others stay dead", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const emails = [await toDead(client, job("SendEmail")), await toDead(client, job("SendEmail"))];
    const other = await toDead(client, job("SendInvoice"));
    assert.deepEqual(await inSet(server, "dead", [...emails, other]), jidsOf([...emails, other]));

    await client.requeue("dead", { jobtype: "SendEmail" });

    assert.deepEqual(await inSet(server, "dead", [...emails, other]), [other.jid]);
    for (const email of emails) {
      const fetched = await client.fetch([email.queue!]);
      assert.equal(fetched?.jid, email.jid, "the requeued job is fetchable from its own queue");
      assert.equal(fetched?.failure?.errtype, "Error", "it keeps its failure details");
      await client.ack(email.jid);
    }
  });

  test("a glob holding a space matches (the space travels as \\u0020)", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const spaced = await toRetries(client, job("Greet", { args: ["hello world"] }));
    const dashed = await toRetries(client, job("Greet", { args: ["hello-world"] }));
    const bytes = mutateCommand("discard", "retries", { pattern: "*hello world*" })!;
    assert.equal(
      decoder.decode(bytes),
      'MUTATE {"cmd":"discard","target":"retries","filter":{"regexp":"*hello\\u0020world*"}}\r\n',
    );

    await client.discard("retries", { pattern: "*hello world*" });

    assert.deepEqual(await inSet(server, "retries", [spaced, dashed]), [dashed.jid]);
  });

  test("a glob and a jobtype together must both match", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const a = await toRetries(client, job("SyncUser", { args: ["user-42"] }));
    const b = await toRetries(client, job("SyncUser", { args: ["user-7"] }));
    const c = await toRetries(client, job("SyncOrder", { args: ["user-42"] }));
    await client.discard("retries", { pattern: '*"user-42"*', jobtype: "SyncUser" });
    assert.deepEqual(await inSet(server, "retries", [a, b, c]), jidsOf([b, c]));
  });

  test("kill moves matching retries to the dead set", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const doomed = await toRetries(client, job("Flaky"));
    const spared = await toRetries(client, job("Flaky"));
    await client.kill("retries", { jids: [doomed.jid] });
    assert.deepEqual(await inSet(server, "retries", [doomed, spared]), [spared.jid]);
    assert.deepEqual(await inSet(server, "dead", [doomed, spared]), [doomed.jid]);
  });

  test("kill and requeue on the scheduled set", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const later = await toScheduled(client, job("Later"));
    const now = await toScheduled(client, job("Later"));
    assert.deepEqual(await inSet(server, "scheduled", [later, now]), jidsOf([later, now]));
    await client.kill("scheduled", { jids: [later.jid] });
    await client.requeue("scheduled", { jids: [now.jid] });
    assert.deepEqual(await inSet(server, "scheduled", [later, now]), []);
    assert.deepEqual(await inSet(server, "dead", [later, now]), [later.jid]);
    assert.equal((await client.fetch([now.queue!]))?.jid, now.jid, "requeued: runs now");
    await client.ack(now.jid);
  });

  test("discard by jids removes only those jobs", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const jobs = [
      await toDead(client, job("Gone")),
      await toDead(client, job("Gone")),
      await toDead(client, job("Gone")),
    ];
    await client.discard("dead", { jids: [jobs[0]!.jid, jobs[2]!.jid] });
    assert.deepEqual(await inSet(server, "dead", jobs), [jobs[1]!.jid]);
  });

  test("clear empties a set and only that set", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    await toRetries(client, job("ClearMe"));
    const dead = await toDead(client, job("ClearMe"));
    await client.clear("retries");
    assert.equal((await jobsIn(server, "retries")).length, 0);
    assert.deepEqual(await inSet(server, "dead", [dead]), [dead.jid]);
    assert.equal((await client.info()).faktory.sets.retries, 0);
  });

  test("bad filters and sets are refused before anything is sent; empty jids send nothing", async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    const before = (await client.info()).server.command_count;
    const set = "dead" as const;
    // deno-fmt-ignore
    const refused: [Promise<void>, RegExp][] = [
      [client.discard(set, {}), /Empty filter for discard: give jids, pattern or jobtype/],
      [client.requeue(set, { jids: ["a"], jobtype: "X" }), /give jids alone/],
      [client.kill("dead" as "retries", { jobtype: "X" }), /Invalid set "dead": use "retries", "scheduled"/],
      [client.clear("morgue" as "dead"), /Invalid set "morgue"/],
      [client.requeue(set, { pattern: "" }), /Invalid pattern ""/],
      [client.requeue(set, { jobtype: " " }), /Invalid jobtype " "/],
      [client.requeue(set, { jids: ["has space"] }), /Invalid jid "has space"/],
      [client.requeue(set, undefined as unknown as JobFilter), /Invalid filter for requeue/],
    ];
    for (const [promise, message] of refused) {
      await assert.rejects(
        promise,
        (e: Error) => e instanceof ValidationError && message.test(e.message),
      );
    }
    await client.discard(set, { jids: [] }); // matches nothing: not sent
    assert.equal((await client.info()).server.command_count, before + 1, "only INFO was sent");
  });
});

describe("QUEUE on a real Faktory", () => {
  test("a paused queue is skipped by FETCH and keeps its jobs; resumed, its job is fetched", async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    const waiting = job("Paused", { queue: "pausable" });
    await client.push(waiting);
    await client.pauseQueues(["pausable"]);
    assert.equal(await client.fetch(["pausable"]), null, "FETCH returns null while paused");
    assert.equal((await client.info()).faktory.queues["pausable"], 1, "the job stays");
    await client.resumeQueues(["pausable"]);
    assert.equal((await client.fetch(["pausable"]))?.jid, waiting.jid);
    await client.ack(waiting.jid);
  });

  test('"*" pauses and resumes every queue', async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    const a = job("All", { queue: "all-a" });
    const b = job("All", { queue: "all-b" });
    await client.push(a);
    await client.push(b);
    await client.pauseQueues("*");
    assert.equal(await client.fetch(["all-a", "all-b"]), null);
    await client.resumeQueues("*");
    const fetched = [
      await client.fetch(["all-a", "all-b"]),
      await client.fetch(["all-a", "all-b"]),
    ];
    assert.deepEqual(fetched.map((j) => j?.jid).sort(), jidsOf([a, b]));
    for (const j of fetched) await client.ack(j!.jid);
  });

  test("remove deletes the queue and its jobs", async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    await client.push(job("Removed", { queue: "doomed" }));
    await client.push(job("Removed", { queue: "doomed" }));
    await client.push(job("Kept", { queue: "kept" }));
    await client.removeQueues(["doomed"]);
    const queues = (await client.info()).faktory.queues;
    assert.equal(queues["doomed"], undefined, "the server forgot the queue");
    assert.equal(queues["kept"], 1);
    assert.equal(await client.fetch(["doomed"]), null);
  });

  test("latency grows while a job waits; unknown queues read 0", async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    await client.push(job("Slow", { queue: "slow" }));
    const first = await client.queueLatency(["slow", "never-used"]);
    assert.equal(first["never-used"], 0);
    assert.ok(first["slow"]! >= 0 && first["slow"]! < 1, `first read ${first["slow"]}`);
    await until(
      async () => (await client.queueLatency(["slow"]))["slow"]! >= first["slow"]! + 1,
      5_000,
      "the latency grown by a second",
    );
  });

  test("the namespace prefixes queue names, and '*' stays within the namespace", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    await using spaced = await Client.connect({ url: `${server.url}/ns1.`, logger: silentLogger });
    const inside = job("Ns", { queue: "jobs" });
    const outside = job("Ns", { queue: "jobs" });
    await spaced.push(inside); // ns1.jobs
    await client.push(outside); // jobs
    await spaced.pauseQueues(["jobs"]);
    assert.equal(await client.fetch(["ns1.jobs"]), null, "ns1.jobs is paused");
    assert.equal((await client.fetch(["jobs"]))?.jid, outside.jid, "plain jobs is not");
    await spaced.resumeQueues(["jobs"]);

    await client.push(outside);
    await spaced.pauseQueues("*");
    assert.equal(await spaced.fetch(["jobs"]), null, "'*' paused the namespace's queues");
    assert.equal((await client.fetch(["jobs"]))?.jid, outside.jid, "but not the others");
    await spaced.resumeQueues("*");

    const latency = await spaced.queueLatency(["jobs"]);
    assert.deepEqual(Object.keys(latency), ["jobs"], "latency is keyed without the prefix");
    const info = await client.info();
    assert.deepEqual(queueSizes(info, "ns1."), { jobs: 1 });
    assert.equal(jobCounts(info, "ns1.").enqueued, 1);
    assert.equal(queueSizes(info)["ns1.jobs"], 1);

    await spaced.removeQueues("*");
    assert.equal((await client.info()).faktory.queues["ns1.jobs"], undefined);
    assert.equal(await spaced.fetch(["jobs"]), null);
  });

  test("QUEUE without a queue or with a bad name is refused before anything is sent", async () => {
    await using faktory = await useFaktory();
    const { client } = faktory;
    const before = (await client.info()).server.command_count;
    // deno-fmt-ignore
    const refused: [Promise<unknown>, RegExp][] = [
      [client.pauseQueues([]), /pauseQueues needs at least one queue: pass an array of queue names or "\*" for all/],
      [client.resumeQueues("critical" as "*"), /resumeQueues needs at least one queue/],
      [client.removeQueues(["a b"]), /Invalid queue "a b"/],
      [client.queueLatency([]), /queueLatency needs at least one queue: pass an array of queue names$/],
      [client.queueLatency(["*"]), /Invalid queue "\*"/],
    ];
    for (const [promise, message] of refused) {
      await assert.rejects(
        promise,
        (e: Error) => e instanceof ValidationError && message.test(e.message),
      );
    }
    assert.equal((await client.info()).server.command_count, before + 1, "only INFO was sent");
  });

  test("info helpers: queue sizes and job counts", async () => {
    await using faktory = await useFaktory();
    const fresh = faktory.client;
    await fresh.push(job("Count", { queue: "one" }));
    await fresh.push(job("Count", { queue: "two" }));
    await fresh.push(job("Count", { queue: "two" }));
    await toDead(fresh, job("Count"));
    await toRetries(fresh, job("Count"));
    await toScheduled(fresh, job("Count"));
    const info = await fresh.info();
    const sizes = queueSizes(info);
    assert.equal(sizes.one, 1);
    assert.equal(sizes.two, 2);
    assert.deepEqual(jobCounts(info), {
      enqueued: 3,
      working: 0,
      scheduled: 1,
      retries: 1,
      dead: 1,
      processed: 2,
      failed: 2,
    });
  });
});

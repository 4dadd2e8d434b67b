/** QUEUE against a real Faktory: pause, resume, remove and latency; the INFO helpers. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, jobCounts, queueSizes, silentLogger, ValidationError } from "../mod.ts";
import { jidsOf, job, toDead, toRetries, toScheduled } from "./harness/sets.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";

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

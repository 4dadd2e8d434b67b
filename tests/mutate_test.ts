/** MUTATE against a real Faktory: requeue, kill, discard and clear by jid, glob and jobtype. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type JobFilter, ValidationError } from "../mod.ts";
import { mutateCommand } from "../src/mutate.ts";
import { jobsIn } from "./harness/redis.ts";
import { inSet, jidsOf, job, toDead, toRetries, toScheduled } from "./harness/sets.ts";
import { useFaktory } from "./harness/use_faktory.ts";

const decoder = new TextDecoder();

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

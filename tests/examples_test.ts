/**
 * The examples do what their comments promise, run as their own processes on
 * this test's runtime (`deno run -A`, `bun run`, or on Node the tsc-compiled
 * build/node/examples/*.js, which import the npm build):
 * - producer.ts pushes its words as one message and prints the jid;
 * - consumer.ts prints each message, FAILs "BOOM" (retry set), stops on SIGTERM;
 * - demo.ts (`deno task example`), without FAKTORY_URL, starts a local
 *   Faktory, works a few jobs off, prints what was ACKed and FAILed, exits 0.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { exitWithin, runtimeCommand, runToEnd, startChild } from "./harness/child.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { useFaktory } from "./harness/use_faktory.ts";

describe("examples", () => {
  test("producer prints a jid; consumer prints the message, FAILs BOOM into the retry set, stops on SIGTERM", async () => {
    await using faktory = await useFaktory();
    const { client, server } = faktory;
    const queue = "examples";
    const env = { FAKTORY_URL: server.url, FAKTORY_QUEUE: queue };
    const [command, producerArgs] = runtimeCommand("examples/producer.ts");
    const pushed = await runToEnd(command, [...producerArgs, "hello", "from", "examples"], env);
    assert.equal(pushed.lines.length, 1, `the producer prints the jid only: ${pushed.lines}`);
    const hello = pushed.lines[0]!;
    assert.match(hello, /^[0-9a-f]{24}$/);
    const boom = (await runToEnd(command, [...producerArgs, "BOOM"], env)).lines[0]!;
    assert.equal((await client.info()).faktory.queues[queue], 2, "both jobs wait in the queue");

    const [, consumerArgs] = runtimeCommand("examples/consumer.ts");
    await using consumer = startChild(command, consumerArgs, env);
    await consumer.waitFor((lines) => lines.includes(`${hello}: hello from examples`));
    await until(async () => (await jobsIn(server, "retries")).some((j) => j.jid === boom));
    const retried = (await jobsIn(server, "retries")).find((j) => j.jid === boom)!;
    assert.deepEqual(retried.args, ["BOOM"]);
    assert.equal((retried.failure as Record<string, unknown>).message, `Job ${boom} asked to fail`);

    const signalled = Date.now();
    consumer.signal("SIGTERM");
    const exit = await exitWithin(consumer, 15_000);
    const output = consumer.output();
    assert.deepEqual(exit, { code: 0, signal: null }, `the consumer exits by itself${output}`);
    assert.ok(Date.now() - signalled < 5_000, `within seconds of SIGTERM${output}`);
    assert.ok(consumer.lines.some((l) => /^Worker \S+ stopped$/.test(l)), `it says so${output}`);
    const info = await client.info();
    assert.equal(info.faktory.queues[queue] ?? 0, 0, "the queue is empty");
    assert.equal(info.faktory.sets.working, 0, "nothing is left reserved");
    assert.equal(info.faktory.sets.retries, 1, "only BOOM failed");
  });

  test("demo (deno task example) without FAKTORY_URL starts a Faktory and reports ACKed and FAILed", async () => {
    const [command, args] = runtimeCommand("examples/demo.ts");
    const { lines } = await runToEnd(command, args, { FAKTORY_URL: undefined }, 45_000);
    const output = lines.join("\n");
    assert.match(output, /^Started a local Faktory at tcp:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(output, /^Pushed 4 jobs to queue demo-\S+$/m);
    // Two run at once: the order varies.
    const acked = output.match(/^ACKed 3: (.*)$/m)?.[1]?.split(", ").sort();
    assert.deepEqual(acked, ["faktory-ts", "from", "hello"], output);
    assert.match(output, /^FAILed 1: BOOM \(Job [0-9a-f]{24} asked to fail\)$/m);
  });
});

/**
 * Typed jobs: misuse is a compile error. The `@ts-expect-error` lines are
 * checked by the type checker (deno check, and tsc for the Node run): if a
 * misuse stopped being an error, the unused directive would fail the check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defineJob, type Job, type Producer, type Worker } from "../mod.ts";

const SendEmail = defineJob<[to: string, retries: number]>("SendEmail", { queue: "mail" });

/** Never called: only type-checked. */
function misuse(producer: Producer, worker: Worker) {
  void producer.perform(SendEmail, ["a@example.com", 3]);
  void producer.perform([SendEmail, { retry: 1 }], ["a@example.com", 3]);
  // @ts-expect-error: wrong argument type
  void producer.perform(SendEmail, ["a@example.com", "3"]);
  // @ts-expect-error: missing argument
  void producer.perform(SendEmail, ["a@example.com"]);
  // @ts-expect-error: wrong argument type in a bulk push
  void producer.performBulk(SendEmail, [["a@example.com", 1], [2, 2]]);
  // Untyped jobs take any arguments.
  void producer.perform({ jobtype: "Anything" }, [1, "x", null]);

  worker.register(SendEmail, (job) => {
    const to: string = job.args[0];
    const retries: number = job.args[1];
    return [to, retries];
  });
  // @ts-expect-error: the handler expects other arguments
  worker.register(SendEmail, (job: Job<[number]>) => job.args[0]);
  worker.register(SendEmail, (job) => {
    // @ts-expect-error: args[0] is a string
    const n: number = job.args[0];
    return n;
  });
}

test("typed jobs: misuse is caught by the type checker (see the @ts-expect-error lines)", () => {
  assert.equal(typeof misuse, "function");
  assert.equal(SendEmail.jobtype, "SendEmail");
  assert.equal(SendEmail.queue, "mail");
});

// examples/quickstart/signup_test.ts: the same code tested with no server
import assert from "node:assert/strict";
import { test } from "node:test";
import { fake, inline } from "@faktory-ts/faktory/testing";
import { SendEmail } from "./jobs.ts";
import { registerHandlers, signUp } from "./signup.ts";

test("signing up sends a welcome email", async () => {
  const jobs = fake(); // pushed jobs wait in memory, per queue
  registerHandlers(jobs); // the same function that registers them on the Worker
  await signUp(jobs, "ada@example.com");
  assert.deepEqual(jobs.jobsOf(SendEmail).map((j) => j.args[0]), ["ada@example.com"]);
  await jobs.drain(); // runs them (and what they push) through the real handlers

  const now = inline(); // each push runs its handler at once and rejects with its error
  registerHandlers(now);
  await signUp(now, "grace@example.com");
});

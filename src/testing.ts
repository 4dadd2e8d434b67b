/**
 * Test doubles for your own test suites: push jobs and run their handlers
 * without a Faktory server.
 *
 * - {@linkcode inline}: each push runs the job's handler at once, and the
 *   push rejects with the handler's error.
 * - {@linkcode fake}: pushed jobs are kept in memory per queue; inspect them,
 *   then {@linkcode TestProducer.drain} runs them through the real handlers.
 *
 * A {@linkcode TestProducer} has the pushing methods of a `Producer`
 * (the `JobPusher` interface) and the registering methods of a `Worker`
 * (the `HandlerRegistry` interface), so application code written against
 * those interfaces runs unchanged against it. Jobs take the same path as on a
 * server: push middleware, the checks a real push makes (the job type's
 * schema included), a JSON round trip (a `Date` argument arrives as a
 * string), job middleware, the schema again (the handler gets its output),
 * and a `JobContext` with `signal`, `logger`, `wid`, `jobs` (the test
 * producer itself, so follow-up jobs are pushed to it), `progress` (recorded
 * in {@linkcode TestProducer.progress}) and the values of the `context`
 * option.
 *
 * @example
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * import { fake } from "@faktory-ts/faktory/testing";
 *
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 * const sent: string[] = [];
 *
 * const jobs = fake().register(SendEmail, (job) => void sent.push(job.args[0]));
 * await jobs.perform(SendEmail, ["ada@example.com"]);
 * console.log(jobs.jobs("mail").length); // 1
 * await jobs.drain();
 * console.log(sent); // ["ada@example.com"]
 * ```
 *
 * @module
 */

import type { TestingOptions } from "./test_options.ts";
import { TestProducer } from "./test_producer.ts";

export type { DrainOptions, TestBatch, TestingOptions, TestMode } from "./test_options.ts";
export { TestProducer } from "./test_producer.ts";

/**
 * A {@linkcode TestProducer} in fake mode: pushed jobs wait in memory until
 * {@linkcode TestProducer.drain} runs them.
 *
 * @example
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * import { fake } from "@faktory-ts/faktory/testing";
 * const Welcome = defineJob<[userId: number]>("Welcome");
 * const jobs = fake().register(Welcome, () => {});
 * await jobs.perform([Welcome, { in: 60 }], [42]);
 * console.log(jobs.jobsOf(Welcome).map((j) => j.args[0])); // [42]
 * await jobs.drain();
 * ```
 */
export function fake<Ctx extends object = object>(
  options: TestingOptions<Ctx> = {},
): TestProducer<Ctx> {
  return new TestProducer("fake", options);
}

/**
 * A {@linkcode TestProducer} in inline mode: each push runs its job at once
 * and rejects with the handler's error.
 *
 * @example
 * ```ts
 * import { inline } from "@faktory-ts/faktory/testing";
 * const seen: unknown[] = [];
 * const jobs = inline().register("Echo", (job) => void seen.push(...job.args));
 * await jobs.perform({ jobtype: "Echo" }, ["hi"]);
 * console.log(seen); // ["hi"]
 * ```
 */
export function inline<Ctx extends object = object>(
  options: TestingOptions<Ctx> = {},
): TestProducer<Ctx> {
  return new TestProducer("inline", options);
}

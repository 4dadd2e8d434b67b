/**
 * A Faktory client and worker for Deno, Bun and Node.
 *
 * Define a job type once with {@linkcode defineJob}, push it with a
 * {@linkcode Producer} (or any {@linkcode JobPusher}), run it with a
 * {@linkcode Worker}; talk to the server command by command with a
 * {@linkcode Client}. Other entry points: `@faktory-ts/faktory/testing`
 * (run or collect jobs in memory in your own tests, no server),
 * `@faktory-ts/faktory/cloudflare` (producers on Cloudflare Workers),
 * `@faktory-ts/faktory/otel` (OpenTelemetry spans and metrics as middleware)
 * and `@faktory-ts/faktory/cli` (the `faktory-ts` command line).
 *
 * @example
 * ```ts ignore
 * import { defineJob, Producer, Worker } from "@faktory-ts/faktory";
 *
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 *
 * await using producer = await Producer.connect(); // FAKTORY_URL or tcp://localhost:7419
 * await producer.perform(SendEmail, ["ada@example.com"]);
 *
 * const worker = new Worker({ queues: ["mail"], handleSignals: true });
 * worker.register(SendEmail, (job, { logger }) => logger.info(`mail to ${job.args[0]}`));
 * await worker.run(); // until SIGTERM or SIGINT
 * ```
 *
 * @example Without a server, in a test
 * ```ts
 * import { defineJob } from "@faktory-ts/faktory";
 * import { inline } from "@faktory-ts/faktory/testing";
 *
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 * const jobs = inline().register(SendEmail, (job) => console.log(`mail to ${job.args[0]}`));
 * await jobs.perform(SendEmail, ["ada@example.com"]); // runs the handler at once
 * ```
 *
 * @module
 */

export * from "./src/api.ts";
export type { JobContext, JobProgress } from "./src/context.ts";
export type { HandlerRegistry, JobHandler, JobMiddleware } from "./src/handlers.ts";
export { loadRuntime } from "./src/runtime/detect.ts";
export { Worker } from "./src/worker/worker.ts";
export type { WorkerEvents, WorkerStatus } from "./src/worker/events.ts";
export type { RunningJob } from "./src/worker/executor.ts";
export type { WorkerHooks } from "./src/worker/hooks.ts";
export type { StopOptions, WorkerOptions } from "./src/worker/options.ts";

import { setDefaultRuntime } from "./src/runtime/default.ts";
import { detected } from "./src/runtime/detect.ts";
// Connections use the adapter of the runtime they run on, imported on first connect.
setDefaultRuntime(detected);

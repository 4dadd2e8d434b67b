/**
 * A Faktory client and worker for Deno, Bun and Node.
 *
 * Define a job type once with {@linkcode defineJob}, push it with a
 * {@linkcode Producer} (or any {@linkcode JobPusher}), run it with a
 * {@linkcode Worker}; talk to the server command by command with a
 * {@linkcode Client}. Other entry points: `@faktory-ts/faktory/testing`
 * (run or collect jobs in memory in your own tests, no server) and
 * `@faktory-ts/faktory/cli` (the `faktory-ts` command line).
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

export type { Backoff } from "./src/backoff.ts";
export type { BeatOptions, WorkerState } from "./src/beat.ts";
export { Client } from "./src/client.ts";
export type { ClientOptions } from "./src/client_options.ts";
export {
  AuthenticationError,
  ConnectionError,
  EnterpriseRequiredError,
  FaktoryError,
  InvalidArgumentsError,
  JobTimeoutError,
  NotUniqueError,
  ProtocolError,
  ServerError,
  ServerShuttingDownError,
  TimeoutError,
  UnknownJobTypeError,
  ValidationError,
  WorkerStoppedError,
} from "./src/errors.ts";
export type { FailureDetails } from "./src/failure.ts";
export { type JobCounts, jobCounts, queueSizes, type ServerInfo } from "./src/info.ts";
export type { JobFilter, JobSet } from "./src/mutate.ts";
export type { BatchOptions, BatchStatus, CallbackState } from "./src/ent/batch.ts";
export type { JobTracking, TrackedState, TrackingUpdate } from "./src/ent/tracking.ts";
export {
  buildPayload,
  DEFAULT_RESERVE_FOR,
  defineJob,
  Job,
  type JobOptions,
  type JobType,
  mergeOptions,
} from "./src/job.ts";
export { type Logger, silentLogger } from "./src/logger.ts";
export { type JobFailure, type JobPayload, randomJid } from "./src/payload.ts";
export type {
  ConnectOptions,
  ProcessSignal,
  Runtime,
  Socket,
  TlsOptions,
} from "./src/runtime/types.ts";
export { BulkPushError, Producer, type ProducerOptions } from "./src/producer.ts";
export type { JobPusher, PerformOptions, PushMiddleware } from "./src/push.ts";
export { detectRuntime } from "./src/runtime/detect.ts";
export {
  type HandlerRegistry,
  type JobContext,
  type JobHandler,
  type JobMiddleware,
} from "./src/handlers.ts";
export { Worker } from "./src/worker/worker.ts";
export type { WorkerEvents, WorkerStatus } from "./src/worker/events.ts";
export type { WorkerOptions } from "./src/worker/options.ts";

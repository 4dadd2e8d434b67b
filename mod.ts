/**
 * A Faktory client and worker for Deno, Bun and Node.
 *
 * Push jobs with a {@linkcode Client}, or talk to the server directly.
 *
 * @example
 * ```ts ignore
 * import { Client, randomJid } from "@faktory-ts/faktory";
 *
 * await using client = await Client.connect(); // FAKTORY_URL or tcp://localhost:7419
 * await client.push({ jid: randomJid(), jobtype: "SendEmail", args: ["ada@example.com"] });
 * ```
 *
 * @module
 */

export { Client, type ClientOptions, type WorkerState } from "./src/client.ts";
export {
  AuthenticationError,
  ConnectionError,
  EnterpriseRequiredError,
  FaktoryError,
  NotUniqueError,
  ProtocolError,
  ServerError,
  TimeoutError,
  ValidationError,
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
export {
  DEFAULT_URL,
  type EnvReader,
  type EnvSettings,
  envSettings,
  maskUrl,
  parseUrl,
  type ServerAddress,
} from "./src/settings.ts";
export {
  BulkPushError,
  type JobPusher,
  type PerformOptions,
  Producer,
  type ProducerOptions,
  type PushMiddleware,
} from "./src/producer.ts";
export { detectRuntime } from "./src/runtime/detect.ts";
export {
  type HandlerRegistry,
  InvalidArgumentsError,
  type JobContext,
  type JobHandler,
  type JobMiddleware,
  JobTimeoutError,
  UnknownJobTypeError,
  Worker,
  type WorkerEvents,
  type WorkerOptions,
  type WorkerStatus,
  WorkerStoppedError,
} from "./src/worker.ts";

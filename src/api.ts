/**
 * The public API every entry point shares: clients, producers, job types,
 * settings and errors. `mod.ts` adds the worker and runtime detection to it,
 * `src/cloudflare.ts` the Workers adapter; neither list is kept twice.
 *
 * @module
 */

export type { Backoff } from "./backoff.ts";
export type { BeatOptions, WorkerState } from "./beat.ts";
export { Client } from "./client.ts";
export type { ClientOptions } from "./client_options.ts";
export {
  AuthenticationError,
  BatchNotCommittedError,
  BulkPushError,
  type BulkPushOutcome,
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
} from "./errors.ts";
export type { FailureDetails } from "./failure.ts";
export { type JobCounts, jobCounts, queueSizes, type ServerInfo } from "./info.ts";
export type { JobFilter, JobSet } from "./mutate.ts";
export type { BatchOptions, BatchStatus, CallbackState } from "./ent/batch.ts";
export type { JobTracking, TrackedState, TrackingUpdate } from "./ent/tracking.ts";
export {
  buildPayload,
  DEFAULT_RESERVE_FOR,
  defineJob,
  Job,
  type JobOptions,
  type JobType,
  mergeOptions,
} from "./job.ts";
export { type Logger, silentLogger } from "./logger.ts";
export { type JobFailure, type JobPayload, randomJid } from "./payload.ts";
export type {
  ConnectOptions,
  ProcessSignal,
  Runtime,
  Socket,
  TlsOptions,
} from "./runtime/types.ts";
export { Producer, type ProducerOptions } from "./producer.ts";
export type { BulkJob, JobPusher, PerformOptions, PushInfo, PushMiddleware } from "./push.ts";
export { schemaFrom, type StandardSchemaResult, type StandardSchemaV1 } from "./schema.ts";

/**
 * Faktory producers for Cloudflare Workers: the `@faktory-ts/faktory/cloudflare`
 * entry point. It holds what pushes jobs and talks to the server
 * ({@linkcode Producer}, {@linkcode Client}, job types, errors) over
 * `cloudflare:sockets`, and loads nothing of Deno, Bun or Node: bundled as
 * wrangler does, it imports only `cloudflare:sockets` and `cloudflare:workers`,
 * with no `nodejs_compat` flag.
 *
 * Settings come from the Worker's bindings: `FAKTORY_URL` (a secret, as it
 * may hold a password), `FAKTORY_QUEUE`, `FAKTORY_POOL_SIZE`, or options in
 * code. Connect while handling a request and close before it ends: workerd
 * does not let one request use a socket another one opened. There is no
 * `Worker` here: its fetch loops outlive a request.
 *
 * @example
 * ```ts ignore
 * import { defineJob, Producer } from "@faktory-ts/faktory/cloudflare";
 *
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     await using producer = await Producer.connect({ poolSize: 1 }); // FAKTORY_URL binding
 *     const jid = await producer.perform(SendEmail, [new URL(request.url).searchParams.get("to")!]);
 *     return Response.json({ jid });
 *   },
 * };
 * ```
 *
 * @module
 */

import { setDefaultRuntime } from "./runtime/default.ts";
import { cloudflareRuntime } from "./runtime/cloudflare.ts";

export { Client, type ClientOptions, type WorkerState } from "./client.ts";
export {
  AuthenticationError,
  BulkPushError,
  type BulkPushOutcome,
  ConnectionError,
  EnterpriseRequiredError,
  FaktoryError,
  NotUniqueError,
  ProtocolError,
  ServerError,
  ServerShuttingDownError,
  TimeoutError,
  ValidationError,
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
export {
  DEFAULT_URL,
  type EnvReader,
  type EnvSettings,
  envSettings,
  maskUrl,
  parseUrl,
  type ServerAddress,
} from "./settings.ts";
export {
  type JobPusher,
  type PerformOptions,
  Producer,
  type ProducerOptions,
  type PushMiddleware,
} from "./producer.ts";
export { cloudflareRuntime };

// Connections use cloudflare:sockets unless the runtime option says otherwise.
setDefaultRuntime({ env: cloudflareRuntime.env, load: () => Promise.resolve(cloudflareRuntime) });

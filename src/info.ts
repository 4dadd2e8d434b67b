/**
 * The INFO reply.
 *
 * @module
 */

import { ProtocolError, show, ValidationError } from "./errors.ts";
import { validateQueue } from "./protocol/command.ts";

/**
 * What the server reports about itself (`INFO`).
 *
 * @example
 * ```ts
 * import type { ServerInfo } from "@faktory-ts/faktory";
 * function waiting(info: ServerInfo): number {
 *   return Object.values(info.faktory.queues).reduce((sum, n) => sum + n, 0);
 * }
 * ```
 */
export interface ServerInfo {
  /** Server time (RFC 3339). */
  readonly now: string;
  /** Server time of day, e.g. `07:52:10 UTC`. */
  readonly server_utc_time: string;
  /** Server details. */
  readonly server: {
    readonly description: string;
    readonly faktory_version: string;
    /** Seconds since start. */
    readonly uptime: number;
    /** Open client connections. */
    readonly connections: number;
    /** Commands served since start. */
    readonly command_count: number;
    /** Memory used by Redis, in MB. */
    readonly used_memory_mb: number;
  };
  /** Job figures. */
  readonly faktory: {
    /** Jobs that failed since the statistics were reset. */
    readonly total_failures: number;
    /** Jobs processed since the statistics were reset. */
    readonly total_processed: number;
    /** Jobs waiting in all queues. */
    readonly total_enqueued: number;
    /** Number of queues. */
    readonly total_queues: number;
    /** Jobs waiting per queue. */
    readonly queues: Readonly<Record<string, number>>;
    /** Jobs in the retry, scheduled and dead sets, and jobs being worked on. */
    readonly sets: {
      readonly retries: number;
      readonly scheduled: number;
      readonly dead: number;
      readonly working: number;
    };
    /**
     * Background tasks of the server and their statistics. Faktory 1.9.4
     * and 1.10.0 send `Busy` and `Workers` (`{ reaped, size }`) and `Dead`,
     * `Retries` and `Scheduled` (`{ cycles, enqueued, size, wall_time_sec }`).
     */
    readonly tasks: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  };
}

/**
 * Jobs waiting in each queue, from an INFO reply. With a namespace, only
 * that namespace's queues, named without the prefix (as the client names
 * them). Queues the server knows but that are empty count 0.
 *
 * @example
 * ```ts ignore
 * import { queueSizes } from "@faktory-ts/faktory";
 * const sizes = queueSizes(await client.info(), client.namespace);
 * console.log(sizes.default ?? 0);
 * ```
 */
export function queueSizes(info: ServerInfo, namespace?: string): Record<string, number> {
  checkInfo(info, namespace);
  const sizes: Record<string, number> = {};
  for (const [queue, size] of Object.entries(info.faktory.queues)) {
    if (namespace === undefined) sizes[queue] = size;
    else if (queue.startsWith(namespace)) sizes[queue.slice(namespace.length)] = size;
  }
  return sizes;
}

/**
 * The job counts people look at first, from an INFO reply.
 *
 * @example
 * ```ts
 * import type { JobCounts } from "@faktory-ts/faktory";
 * const healthy = (c: JobCounts) => c.dead === 0 && c.retries < 100;
 * ```
 */
export interface JobCounts {
  /** Jobs waiting in queues (with a namespace: in that namespace's queues). */
  readonly enqueued: number;
  /** Jobs being worked on now. */
  readonly working: number;
  /** Jobs scheduled for later. */
  readonly scheduled: number;
  /** Failed jobs waiting for a retry. */
  readonly retries: number;
  /** Jobs out of retries. */
  readonly dead: number;
  /** Jobs processed since the statistics were reset. */
  readonly processed: number;
  /** Jobs failed since the statistics were reset. */
  readonly failed: number;
}

/**
 * Totals from an INFO reply in one flat object. Only `enqueued` follows the
 * namespace: the sets and statistics are shared by all namespaces.
 *
 * @example
 * ```ts ignore
 * import { jobCounts } from "@faktory-ts/faktory";
 * const { enqueued, retries, dead } = jobCounts(await client.info(), client.namespace);
 * ```
 */
export function jobCounts(info: ServerInfo, namespace?: string): JobCounts {
  checkInfo(info, namespace);
  const { sets } = info.faktory;
  const enqueued = namespace === undefined
    ? info.faktory.total_enqueued
    : Object.values(queueSizes(info, namespace)).reduce((sum, n) => sum + n, 0);
  return {
    enqueued,
    working: sets.working,
    scheduled: sets.scheduled,
    retries: sets.retries,
    dead: sets.dead,
    processed: info.faktory.total_processed,
    failed: info.faktory.total_failures,
  };
}

/** An INFO reply's JSON, which must at least be an object. */
export function parseInfo(info: unknown): ServerInfo {
  if (info === null || typeof info !== "object") {
    throw new ProtocolError("INFO reply is not an object");
  }
  return info as ServerInfo;
}

/** The arguments of {@linkcode queueSizes} and {@linkcode jobCounts}, checked. */
function checkInfo(info: ServerInfo, namespace: string | undefined): void {
  const figures = (info as Partial<ServerInfo> | null)?.faktory;
  if (
    typeof figures !== "object" || figures === null || typeof figures.queues !== "object" ||
    figures.queues === null || typeof figures.sets !== "object" || figures.sets === null
  ) {
    throw new ValidationError(`Invalid info ${show(info)}: pass what Client.info() resolves with`);
  }
  if (namespace !== undefined) validateQueue(namespace, "namespace");
}

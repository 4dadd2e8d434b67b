/**
 * The INFO reply.
 *
 * @module
 */

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
    /** Background tasks of the server and their statistics. */
    readonly tasks: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  };
}

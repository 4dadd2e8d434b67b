/**
 * MUTATE: repairs on the server's retry, scheduled and dead sets (move jobs
 * to the dead set, throw them away, send them back to their queue, empty a
 * set). Meant for operations and data repair, not for application logic:
 * the server scans the whole set for most filters.
 *
 * @module
 */

import type { Client } from "./client.ts";
import { show, ValidationError } from "./errors.ts";
import * as cmd from "./protocol/command.ts";
import { checkOptions, JOB_FILTER } from "./rules.ts";

/**
 * The server's sorted sets of jobs that are not in a queue: jobs waiting for
 * a retry, jobs scheduled for later, and dead jobs (out of retries).
 *
 * @example
 * ```ts
 * import type { JobSet } from "@faktory-ts/faktory";
 * const sets: JobSet[] = ["retries", "scheduled", "dead"];
 * ```
 */
export type JobSet = "retries" | "scheduled" | "dead";

/**
 * Which jobs of a set to change. Give `jids` alone, or `pattern` and/or
 * `jobtype` (both must match). To mean every job, use `{ pattern: "*" }`.
 *
 * @example
 * ```ts
 * import type { JobFilter } from "@faktory-ts/faktory";
 * const byType: JobFilter = { jobtype: "SendEmail" };
 * const byIds: JobFilter = { jids: ["4b2a1c0d9e8f7a6b5c4d3e2f"] };
 * const byText: JobFilter = { pattern: '*"user-42"*', jobtype: "SyncUser" };
 * ```
 */
export interface JobFilter {
  /**
   * These jobs only. An empty list matches no job (nothing is sent). The
   * server ignores `pattern` and `jobtype` when jids are given, so they may
   * not be combined.
   */
  readonly jids?: readonly string[] | undefined;
  /**
   * A Redis glob pattern, not a regular expression, matched against each
   * job's whole JSON text as stored (`{"jid":"...","jobtype":"...","args":[...],...}`):
   * `*` is any text, `?` any one character, `[abc]` one of a set, `\` escapes
   * the next character. Put `*` at both ends to find text anywhere in the job,
   * e.g. `*hello world*`. Sent as the `regexp` field of MUTATE.
   */
  readonly pattern?: string | undefined;
  /** Jobs of this exact jobtype. */
  readonly jobtype?: string | undefined;
}

/** The MUTATE operations, as the server names them. */
export type MutateAction = "kill" | "discard" | "requeue" | "clear";

const SETS: readonly string[] = ["retries", "scheduled", "dead"];

/** Checks a set name; the error lists the valid ones. */
export function validateSet(set: unknown, allowed: readonly string[] = SETS): JobSet {
  if (typeof set !== "string" || !allowed.includes(set)) {
    throw new ValidationError(
      `Invalid set ${show(set)}: use ${allowed.map((s) => `"${s}"`).join(", ")}`,
    );
  }
  return set as JobSet;
}

/** Sends MUTATE through `client`, unless the filter matches no job: see `Client.requeue`. */
export async function mutate(
  client: Client,
  action: MutateAction,
  set: JobSet,
  filter?: JobFilter,
): Promise<void> {
  const target = validateSet(set, action === "kill" ? ["retries", "scheduled"] : undefined);
  const command = mutateCommand(action, target, filter);
  if (command !== null) await client.send(command, "MUTATE");
}

/**
 * Encodes `MUTATE {"cmd","target","filter"}` after checking every part.
 * Resolves to `null` when the filter can match no job (an empty `jids`
 * list): then there is nothing to send. `clear` takes no filter.
 */
export function mutateCommand(
  action: MutateAction,
  target: JobSet,
  filter?: JobFilter,
): Uint8Array | null {
  if (action === "clear") return cmd.mutate({ cmd: action, target });
  const wire = encodeFilter(filter, action);
  if (wire === null) return null;
  return cmd.mutate({ cmd: action, target, filter: wire });
}

function encodeFilter(
  filter: JobFilter | undefined,
  action: string,
): Record<string, unknown> | null {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw new ValidationError(
      `Invalid filter for ${action}: pass { jids }, { pattern } and/or { jobtype } (pattern "*" matches every job)`,
    );
  }
  checkOptions(JOB_FILTER, filter, `filter for ${action}`);
  const { jids, pattern, jobtype } = filter;
  const wire: Record<string, unknown> = {};
  if (jids !== undefined) {
    if (pattern !== undefined || jobtype !== undefined) {
      throw new ValidationError(
        `Invalid filter for ${action}: give jids alone, since the server ignores pattern and jobtype when jids are given`,
      );
    }
    if (jids.length === 0) return null;
    // Array.from: a hole is checked as undefined, not skipped.
    wire.jids = Array.from(jids, (jid) => cmd.validateWord(jid, "jid"));
    return wire;
  }
  if (pattern !== undefined) wire.regexp = pattern;
  if (jobtype !== undefined) wire.jobtype = jobtype;
  if (Object.keys(wire).length === 0) {
    throw new ValidationError(
      `Empty filter for ${action}: give jids, pattern or jobtype (pattern "*" matches every job)`,
    );
  }
  return wire;
}

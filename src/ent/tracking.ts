/**
 * Faktory Enterprise job tracking: a tracked job's state and the progress its
 * worker reports.
 *
 * @module
 */

import { ProtocolError, ValidationError } from "../errors.ts";
import { validateWord } from "../protocol/command.ts";
import { checkOptions, TRACKING_UPDATE } from "../rules.ts";

/**
 * Where a tracked job is. `unknown`: never pushed, not tracked (push it with
 * `tracked: true`), or finished more than about 30 minutes ago. States this
 * library does not know also read as `unknown` (`raw` has them).
 *
 * @example
 * ```ts
 * import type { TrackedState } from "@faktory-ts/faktory";
 * const finished = (state: TrackedState) => ["success", "failed", "dead"].includes(state);
 * ```
 */
export type TrackedState = "unknown" | "enqueued" | "working" | "success" | "failed" | "dead";

/**
 * A tracked job's state and latest progress (`TRACK GET`).
 *
 * @example
 * ```ts ignore
 * const tracking = await client.getTracking(jid);
 * if (tracking.state === "working") console.log(`${tracking.percent ?? 0}% ${tracking.description ?? ""}`);
 * ```
 */
export interface JobTracking {
  /** The job id. */
  readonly jid: string;
  /** Where the job is. */
  readonly state: TrackedState;
  /** Percent done, as last reported with `setTracking`. */
  readonly percent: number | undefined;
  /** Progress text, as last reported with `setTracking`. */
  readonly description: string | undefined;
  /** When the state or progress last changed. */
  readonly updatedAt: Date | undefined;
  /** The reply exactly as the server sent it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Progress a worker reports for the tracked job it is running (`TRACK SET`).
 * Give at least one of `percent`, `description` and `reserveUntil`.
 *
 * @example
 * ```ts
 * import type { TrackingUpdate } from "@faktory-ts/faktory";
 * const update: TrackingUpdate = { jid: "4b2a1c0d9e8f7a6b5c4d3e2f", percent: 40, description: "Resizing" };
 * ```
 */
export interface TrackingUpdate {
  /** The job reporting progress. */
  readonly jid: string;
  /** Percent done: a whole number from 0 to 100. */
  readonly percent?: number | undefined;
  /** What the job is doing now, for people watching. */
  readonly description?: string | undefined;
  /**
   * Extends the job's reservation until this time (it cannot shorten it):
   * for a long job that needs more time than its `reserveFor`.
   */
  readonly reserveUntil?: Date | undefined;
}

const STATES: readonly string[] = ["unknown", "enqueued", "working", "success", "failed", "dead"];

/** The JSON of `TRACK SET`, after checking the update; `now` for `reserveUntil`. */
export function trackSetPayload(
  update: TrackingUpdate,
  now: number = Date.now(),
): Record<string, unknown> {
  checkOptions(TRACKING_UPDATE, update, "tracking update", { required: true });
  const payload: Record<string, unknown> = { jid: validateWord(update.jid, "jid") };
  const { percent, description, reserveUntil } = update;
  if (percent !== undefined) payload.percent = percent;
  if (description !== undefined) payload.desc = description;
  if (reserveUntil !== undefined) {
    if (reserveUntil.getTime() <= now) {
      throw new ValidationError(
        `Invalid reserveUntil "${reserveUntil.toISOString()}": use a time in the future`,
      );
    }
    payload.reserve_until = reserveUntil.toISOString();
  }
  if (Object.keys(payload).length === 1) {
    throw new ValidationError(
      `Empty tracking update for "${update.jid}": give percent, description or reserveUntil`,
    );
  }
  return payload;
}

/** Turns a `TRACK GET` reply into a {@linkcode JobTracking}. */
export function parseTracking(reply: unknown, jid: string): JobTracking {
  if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
    throw new ProtocolError(`TRACK GET reply for "${jid}" is not an object`);
  }
  const raw = reply as Record<string, unknown>;
  const state = typeof raw.state === "string" && STATES.includes(raw.state)
    ? raw.state as TrackedState
    : "unknown";
  const updated = typeof raw.updated_at === "string" && raw.updated_at !== ""
    ? new Date(raw.updated_at)
    : undefined;
  return {
    jid: typeof raw.jid === "string" && raw.jid !== "" ? raw.jid : jid,
    state,
    percent: typeof raw.percent === "number" ? raw.percent : undefined,
    description: typeof raw.desc === "string" && raw.desc !== "" ? raw.desc : undefined,
    updatedAt: updated,
    raw,
  };
}

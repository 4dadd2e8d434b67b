/**
 * Faktory Enterprise batches: a group of jobs with callback jobs that run
 * once every job of the group has run (`complete`) or succeeded (`success`).
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { JobPayload } from "../payload.ts";
import { BATCH_OPTIONS, checkOptions } from "../rules.ts";

/**
 * A new batch: its callback jobs, a description for the web UI, and the
 * batch it belongs to, if it is a child batch.
 *
 * Create it with `client.newBatch(options)`, push its jobs with the
 * `batchId` job option (or `custom.bid`), then `client.commitBatch(bid)`:
 * the callbacks fire only after the commit. `client.openBatch(bid)` reopens
 * a committed batch to add jobs, e.g. from one of its own jobs; commit it
 * again afterwards. Callback jobs are checked and namespaced like pushed jobs.
 *
 * @example
 * ```ts
 * import { type BatchOptions, buildPayload } from "@faktory-ts/faktory";
 * const options: BatchOptions = {
 *   description: "Import of file 42",
 *   success: buildPayload({ jobtype: "ImportDone" }, [42]),
 *   complete: buildPayload({ jobtype: "ImportFinished", queue: "critical" }, [42]),
 * };
 * ```
 */
export interface BatchOptions {
  /** Shown in the web UI. */
  readonly description?: string | undefined;
  /** Pushed once every job of the batch has succeeded. */
  readonly success?: JobPayload | undefined;
  /** Pushed once every job of the batch has run, failed or not. */
  readonly complete?: JobPayload | undefined;
  /** Makes this a child batch of that one: the parent completes only after it. */
  readonly parentBid?: string | undefined;
}

/**
 * Where a batch callback is: `pending` (not pushed yet, or none was given),
 * `enqueued` (pushed) or `done` (it ran successfully). `unknown` stands for a
 * code this library does not know; `raw` on the status has it.
 *
 * @example
 * ```ts
 * import type { CallbackState } from "@faktory-ts/faktory";
 * const fired = (state: CallbackState) => state === "enqueued" || state === "done";
 * ```
 */
export type CallbackState = "pending" | "enqueued" | "done" | "unknown";

/**
 * A batch's progress (`BATCH STATUS`).
 *
 * @example
 * ```ts ignore
 * const status = await client.batchStatus(bid);
 * console.log(`${status.total - status.pending}/${status.total} done, ${status.failed} failed`);
 * ```
 */
export interface BatchStatus {
  /** The batch id. */
  readonly bid: string;
  /** The parent batch, for a child batch. */
  readonly parentBid: string | undefined;
  /** The description given at creation. */
  readonly description: string | undefined;
  /** When the batch was created. */
  readonly createdAt: Date | undefined;
  /** Jobs pushed into the batch. */
  readonly total: number;
  /** Jobs that have not run successfully yet. */
  readonly pending: number;
  /** Jobs that failed (they may still be retried). */
  readonly failed: number;
  /** The `complete` callback's state. */
  readonly completeCallback: CallbackState;
  /** The `success` callback's state. */
  readonly successCallback: CallbackState;
  /** The reply exactly as the server sent it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * The JSON of `BATCH NEW`, after checking the options. Callback jobs must
 * already be prepared (validated, namespaced) by the caller.
 */
export function batchNewPayload(
  options: BatchOptions,
  prepare: (job: JobPayload) => JobPayload,
): Record<string, unknown> {
  checkOptions(BATCH_OPTIONS, options, "batch options", { required: true });
  const payload: Record<string, unknown> = {};
  if (options.description !== undefined) payload.description = options.description;
  if (options.parentBid !== undefined) payload.parent_bid = options.parentBid;
  if (options.success !== undefined) payload.success = prepare(options.success);
  if (options.complete !== undefined) payload.complete = prepare(options.complete);
  return payload;
}

const CALLBACK_STATES: Readonly<Record<string, CallbackState>> = {
  "": "pending",
  "1": "enqueued",
  "2": "done",
};

/** Turns a `BATCH STATUS` reply into a {@linkcode BatchStatus}. */
export function parseBatchStatus(reply: unknown, bid: string): BatchStatus {
  if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
    throw new ProtocolError(`BATCH STATUS reply for "${bid}" is not an object`);
  }
  const raw = reply as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const count = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0) || 0);
  const state = (v: unknown) => CALLBACK_STATES[v === undefined || v === null ? "" : String(v)];
  const created = text(raw.created_at);
  return {
    bid: text(raw.bid) ?? bid,
    parentBid: text(raw.parent_bid),
    description: text(raw.description),
    createdAt: created === undefined ? undefined : new Date(created),
    total: count(raw.total),
    pending: count(raw.pending),
    failed: count(raw.failed),
    completeCallback: state(raw.complete_st) ?? "unknown",
    successCallback: state(raw.success_st) ?? "unknown",
    raw,
  };
}

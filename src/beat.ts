/**
 * BEAT: a worker's heartbeat, and the server's answer to it.
 *
 * @module
 */

import type { Client } from "./client.ts";
import { ProtocolError, ValidationError } from "./errors.ts";
import * as cmd from "./protocol/command.ts";
import { parseJsonReply } from "./protocol/reply.ts";
import { BEAT_OPTIONS, checkOptions } from "./rules.ts";

/**
 * The server's answer to BEAT: what the worker should do now.
 *
 * @example
 * ```ts
 * import type { WorkerState } from "@faktory-ts/faktory";
 * const stopping = (state: WorkerState | null) => state === "terminate";
 * ```
 */
export type WorkerState = "quiet" | "terminate";

/**
 * What a heartbeat tells the server.
 *
 * @example
 * ```ts
 * import type { BeatOptions } from "@faktory-ts/faktory";
 * const beat: BeatOptions = { state: "quiet", rssKb: 51_200 };
 * ```
 */
export interface BeatOptions {
  /** What the worker is doing already: `quiet` once it has stopped fetching. */
  readonly state?: WorkerState | undefined;
  /** The process's resident memory, in KiB, for the web UI. */
  readonly rssKb?: number | undefined;
}

/** BEAT for `client`'s worker id: see `Client.beat`. */
export async function beat(client: Client, options: BeatOptions): Promise<WorkerState | null> {
  checkOptions(BEAT_OPTIONS, options, "beat options");
  const wid = client.wid;
  if (wid === undefined) {
    throw new ValidationError("beat needs a worker id: connect with the wid option");
  }
  const payload: Record<string, unknown> = { wid };
  if (options.state !== undefined) payload.current_state = options.state;
  if (options.rssKb !== undefined) payload.rss_kb = Math.round(options.rssKb);
  const reply = await client.send(cmd.withJson("BEAT", payload), "BEAT");
  if (reply === "OK" || reply === null) return null;
  const state = (parseJsonReply(reply, "BEAT") as { state?: unknown } | null)?.state;
  if (state === "quiet" || state === "terminate") return state;
  throw new ProtocolError(`Unexpected BEAT reply ${JSON.stringify(reply.slice(0, 80))}`);
}

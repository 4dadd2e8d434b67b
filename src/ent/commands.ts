/**
 * The Faktory Enterprise commands (BATCH, TRACK), sent through a client's
 * connection. `Client` exposes each as a method (`client.newBatch(...)`);
 * the work is done here, beside the payloads and replies of batch.ts and
 * tracking.ts.
 *
 * @module
 */

import type { Client } from "../client.ts";
import { ProtocolError } from "../errors.ts";
import { encodeJob, preparePush } from "../payload.ts";
import * as cmd from "../protocol/command.ts";
import { parseJsonReply } from "../protocol/reply.ts";
import { batchNewPayload, type BatchOptions, type BatchStatus, parseBatchStatus } from "./batch.ts";
import {
  type JobTracking,
  parseTracking,
  type TrackingUpdate,
  trackSetPayload,
} from "./tracking.ts";

/** `BATCH NEW`: see `Client.newBatch`. */
export async function newBatch(client: Client, options: BatchOptions): Promise<string> {
  const payload = batchNewPayload(options, (job) => preparePush(job, client.namespace));
  const bid = await client.send(encodeJob("BATCH NEW", payload), "BATCH NEW");
  if (bid === null || bid === "" || bid === "OK") {
    throw new ProtocolError(`BATCH NEW reply ${JSON.stringify(bid)} is not a batch id`);
  }
  return bid;
}

/** `BATCH OPEN`: see `Client.openBatch`. */
export async function openBatch(client: Client, bid: string): Promise<void> {
  await client.send(cmd.words("BATCH", ["OPEN", cmd.validateWord(bid, "batch id")]), "BATCH OPEN");
}

/** `BATCH COMMIT`: see `Client.commitBatch`. */
export async function commitBatch(client: Client, bid: string): Promise<void> {
  const command = cmd.words("BATCH", ["COMMIT", cmd.validateWord(bid, "batch id")]);
  await client.send(command, "BATCH COMMIT");
}

/** `BATCH STATUS`: see `Client.batchStatus`. */
export async function batchStatus(client: Client, bid: string): Promise<BatchStatus> {
  const command = cmd.words("BATCH", ["STATUS", cmd.validateWord(bid, "batch id")]);
  return parseBatchStatus(
    parseJsonReply(await client.send(command, "BATCH STATUS"), "BATCH STATUS"),
    bid,
  );
}

/** `TRACK GET`: see `Client.getTracking`. */
export async function getTracking(client: Client, jid: string): Promise<JobTracking> {
  const command = cmd.words("TRACK", ["GET", cmd.validateWord(jid, "jid")]);
  return parseTracking(parseJsonReply(await client.send(command, "TRACK GET"), "TRACK GET"), jid);
}

/** `TRACK SET`: see `Client.setTracking`. */
export async function setTracking(client: Client, update: TrackingUpdate): Promise<void> {
  await client.send(cmd.withJson("TRACK SET", trackSetPayload(update)), "TRACK SET");
}

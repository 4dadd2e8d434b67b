/**
 * QUEUE: pausing, resuming and removing queues, and their latency, within a
 * client's namespace.
 *
 * @module
 */

import type { Client } from "./client.ts";
import { ProtocolError, ValidationError } from "./errors.ts";
import * as cmd from "./protocol/command.ts";
import { parseJsonReply } from "./protocol/reply.ts";
import { namespaced } from "./settings.ts";

/** `QUEUE PAUSE|RESUME|REMOVE`: see `Client.pauseQueues`. */
export async function command(
  client: Client,
  sub: string,
  queues: readonly string[] | "*",
  method: string,
): Promise<void> {
  let names: string[];
  const ns = client.namespace;
  if (queues !== "*") names = queueNames(client, queues, method);
  else if (ns === undefined) names = ["*"];
  else {
    // The server's "*" means every namespace: list this namespace's queues instead.
    names = Object.keys((await client.info()).faktory.queues).filter((q) => q.startsWith(ns));
    if (names.length === 0) return;
  }
  await client.send(cmd.words("QUEUE", [sub, ...names]), `QUEUE ${sub}`);
}

/** `QUEUE LATENCY`: see `Client.queueLatency`. */
export async function latency(
  client: Client,
  queues: readonly string[],
): Promise<Record<string, number>> {
  const names = queueNames(client, queues, "queueLatency");
  const reply = await client.send(cmd.words("QUEUE", ["LATENCY", ...names]), "QUEUE LATENCY");
  const latency = parseJsonReply(reply, "QUEUE LATENCY");
  if (latency === null || typeof latency !== "object" || Array.isArray(latency)) {
    throw new ProtocolError("QUEUE LATENCY reply is not an object");
  }
  const ns = client.namespace ?? "";
  const out: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(latency)) {
    out[name.startsWith(ns) ? name.slice(ns.length) : name] = Number(seconds);
  }
  return out;
}

/**
 * Validated, namespaced queue names; at least one: QUEUE without one
 * crashes Faktory 1.9.4 (1.10.0 answers `-ERR internal error`).
 */
function queueNames(client: Client, queues: readonly string[], method: string): string[] {
  if (!Array.isArray(queues) || queues.length === 0) {
    throw new ValidationError(
      `${method} needs at least one queue: pass an array of queue names${
        method === "queueLatency" ? "" : ' or "*" for all'
      }`,
    );
  }
  // Array.from: a hole is checked as undefined, not skipped.
  return Array.from(queues, (q) => namespaced(client.namespace, cmd.validateQueue(q)));
}

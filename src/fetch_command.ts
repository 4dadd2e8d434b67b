/**
 * FETCH, the command a worker sends once per job: encoded once per list of
 * queues, and its reply's queue given back without the namespace.
 *
 * @module
 */

import type { JobPayload } from "./payload.ts";
import * as cmd from "./protocol/command.ts";
import { parseJsonReply } from "./protocol/reply.ts";
import { checkValue, QUEUES } from "./rules.ts";
import { namespaced } from "./settings.ts";

/** The FETCH of one client, in its namespace. */
export class FetchCommand {
  #queues: readonly string[] | undefined;
  #bytes: Uint8Array | undefined;

  constructor(readonly namespace: string | undefined) {}

  /**
   * The command for `queues`, checked. A worker fetches from the same queues
   * (the same array) every time: it is encoded once.
   */
  bytes(queues: readonly string[]): Uint8Array {
    if (this.#bytes === undefined || this.#queues !== queues) {
      checkValue(QUEUES, queues, "queues");
      this.#bytes = cmd.fetch(queues.map((q) => namespaced(this.namespace, q)));
      this.#queues = queues;
    }
    return this.#bytes;
  }

  /**
   * The job in a reply, as the server sent it but for its queue's namespace:
   * a worker checks that it is a job (worker/fetcher.ts).
   */
  job(reply: string | null): JobPayload | null {
    const job = parseJsonReply(reply, "FETCH") as JobPayload | null;
    const ns = this.namespace;
    const queue: unknown = job?.queue;
    if (ns !== undefined && typeof queue === "string" && queue.startsWith(ns)) {
      job!.queue = queue.slice(ns.length);
    }
    return job;
  }
}

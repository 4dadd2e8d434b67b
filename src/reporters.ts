/**
 * Where a worker sends its ACKs and FAILs: a few connections used in turn.
 *
 * @module
 */

import { Client, type ClientOptions } from "./client.ts";

/**
 * ACK and FAIL spread over `size` connections, each to the least busy. Why more than
 * one: the server runs the commands of one connection strictly one after
 * another, and an ACK costs it several Redis round trips (~0.2 ms), so a
 * single reporting connection caps a worker at about 5,000 jobs/s however
 * well it pipelines (measured with `deno task bench`, drain at concurrency
 * 10: one connection 4,900 jobs/s, four 8,000+). ACK and FAIL are taken by
 * jid on any connection, and a lost connection reconnects on its next
 * command, so a retry simply goes to the next one.
 */
export class Reporters {
  readonly #clients: Client[];
  /** Reports sent on each connection and not answered yet. */
  readonly #busy: number[];
  #next = 0;

  private constructor(clients: Client[]) {
    this.#clients = clients;
    this.#busy = clients.map(() => 0);
  }

  /** Opens `size` connections in parallel; if one fails, closes the others and rejects. */
  static async connect(options: ClientOptions, size: number): Promise<Reporters> {
    const opened = await Promise.allSettled(
      Array.from({ length: Math.max(1, size) }, () => Client.connect(options)),
    );
    const clients = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = opened.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(clients.map((c) => c.close()));
      throw failed.reason;
    }
    return new Reporters(clients);
  }

  /** Reports a job as done (see {@linkcode Client.ack}). */
  ack(jid: string): Promise<void> {
    const i = this.#pick();
    return this.#track(i, this.#clients[i]!.ack(jid));
  }

  /** Reports a job as failed (see {@linkcode Client.fail}). */
  fail(jid: string, error: unknown): Promise<void> {
    const i = this.#pick();
    return this.#track(i, this.#clients[i]!.fail(jid, error));
  }

  /** Lets the reports under way finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
  }

  /**
   * The connection with the fewest reports waiting, the search starting
   * after the last one picked (round-robin among equals): a report queued
   * behind others on a busy connection waits for each of them at the server.
   */
  #pick(): number {
    const n = this.#clients.length;
    let best = this.#next;
    for (let k = 1; k < n && this.#busy[best]! > 0; k++) {
      const i = (this.#next + k) % n;
      if (this.#busy[i]! < this.#busy[best]!) best = i;
    }
    this.#next = (best + 1) % n;
    return best;
  }

  async #track(i: number, report: Promise<void>): Promise<void> {
    this.#busy[i]!++;
    try {
      await report;
    } finally {
      this.#busy[i]!--;
    }
  }
}

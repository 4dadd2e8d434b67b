/**
 * A few connections shared by many callers: a producer's pushes, a worker's
 * ACKs and FAILs.
 *
 * @module
 */

import { Client, type ClientOptions } from "./client.ts";

/**
 * Each call goes to the connection with the fewest calls under way,
 * round-robin among equals. Several connections, not one: the server runs
 * one connection's commands strictly one after another (an ACK costs it a
 * few Redis round trips, ~0.2 ms), so one connection caps a worker near
 * 5,000 jobs/s however well it pipelines (`deno task bench`, drain at
 * concurrency 10: one connection 4,900 jobs/s, four 8,000+). A lost
 * connection reconnects on its next command.
 */
export class Pool {
  readonly #clients: Client[];
  /** Calls under way on each connection. */
  readonly #busy: number[];
  #next = 0;

  private constructor(clients: Client[]) {
    this.#clients = clients;
    this.#busy = clients.map(() => 0);
  }

  /** Opens `size` connections in parallel; if one fails, closes the others and rejects. */
  static async connect(options: ClientOptions, size: number): Promise<Pool> {
    const opened = await Promise.allSettled(
      Array.from({ length: Math.max(1, size) }, () => Client.connect(options)),
    );
    const clients = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = opened.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(clients.map((c) => c.close()));
      throw failed.reason;
    }
    return new Pool(clients);
  }

  /** Runs `call` on the least busy connection. */
  async use<T>(call: (client: Client) => Promise<T>): Promise<T> {
    const i = this.#pick();
    this.#busy[i]!++;
    try {
      return await call(this.#clients[i]!);
    } finally {
      this.#busy[i]!--;
    }
  }

  /** Lets the calls under way finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
  }

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
}

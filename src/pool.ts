/**
 * A few connections shared by many callers: a producer's pushes, a worker's
 * ACKs and FAILs.
 *
 * @module
 */

import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import { type Client, openClient } from "./client.ts";
import { type ClientConfig, type ClientOptions, resolveClientOptions } from "./client_options.ts";

/**
 * Each call goes to the connection with the fewest calls under way,
 * round-robin among equals. Several connections, not one: the server runs
 * one connection's commands strictly one after another (an ACK costs it a
 * few Redis round trips, ~0.2 ms), so one connection caps a worker near
 * 5,000 jobs/s however well it pipelines (`deno task bench`, drain at
 * concurrency 10: one connection 4,900 jobs/s, four 8,000+). A lost
 * connection reconnects on its next command.
 *
 * A pool may start with fewer connections than its size: when every one is
 * busy, a call adds one (in the background) for the calls after it. Each
 * connection costs the server a goroutine and, with a password, a slow
 * handshake, so a worker whose ACKs mostly ride on its fetchers' connections
 * opens only the ones it needs.
 */
export class Pool {
  readonly #options: ClientConfig;
  readonly #size: number;
  readonly #clients: Client[];
  /** Calls under way on each connection. */
  readonly #busy: number[];
  #next = 0;
  #growing: Promise<void> | undefined;
  /** After failed attempts to add a connection, when the next may start. */
  #growAfter = 0;
  #growFailures = 0;
  #closed = false;
  /** Aborts the connect adding a connection, on close. */
  readonly #stopGrowing = new AbortController();

  private constructor(options: ClientConfig, size: number, clients: Client[]) {
    this.#options = options;
    this.#size = size;
    this.#clients = clients;
    this.#busy = clients.map(() => 0);
  }

  /**
   * Opens `open` connections now, in parallel (all `size` by default); if
   * one fails, closes the others and rejects. The rest open when needed.
   * `signal` aborts the connections opened now.
   */
  static async connect(
    options: ClientOptions | ClientConfig,
    size: number,
    open = size,
    signal = (options as ClientOptions).signal,
  ): Promise<Pool> {
    const config = resolveClientOptions(options);
    const opened = await Promise.allSettled(
      Array.from({ length: Math.max(1, Math.min(open, size)) }, () => openClient(config, signal)),
    );
    const clients = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = opened.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(clients.map((c) => c.close()));
      throw failed.reason;
    }
    return new Pool(config, Math.max(1, size), clients);
  }

  /** The backoff of its connections, which it follows too when adding one fails. */
  get backoff(): BackoffPolicy {
    return this.#options.backoff;
  }

  /** Runs `call` on the least busy connection. */
  async use<T>(call: (client: Client) => Promise<T>): Promise<T> {
    const i = this.#pick();
    if (this.#busy[i]! > 0) this.#grow();
    this.#busy[i]!++;
    try {
      return await call(this.#clients[i]!);
    } finally {
      this.#busy[i]!--;
    }
  }

  /** Ends a connect under way, lets the calls under way finish, then closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopGrowing.abort();
    await this.#growing;
    await Promise.all(this.#clients.map((c) => c.close()));
  }

  /** Adds a connection for later calls, one at a time and not right after a failure. */
  #grow(): void {
    if (
      this.#growing !== undefined || this.#closed || this.#clients.length >= this.#size ||
      Date.now() < this.#growAfter
    ) return;
    this.#growing = openClient(this.#options, this.#stopGrowing.signal).then(
      async (client) => {
        if (this.#closed) return await client.close();
        this.#clients.push(client);
        this.#busy.push(0);
        this.#growFailures = 0;
      },
      // The connections there carry on; their own commands report a server that is down.
      () => {
        this.#growAfter = Date.now() + backoffDelay(this.#growFailures++, this.backoff);
      },
    ).finally(() => (this.#growing = undefined));
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

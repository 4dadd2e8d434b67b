/**
 * Connections shared by many callers, as many as the load needs: a
 * producer's pushes, a worker's ACKs and FAILs.
 *
 * @module
 */

import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import { type Client, lazyClient, openClient } from "./client.ts";
import { type ClientConfig, type ClientOptions, resolveClientOptions } from "./client_options.ts";

/** One connection of the pool and what it is doing. */
interface Slot {
  readonly client: Client;
  /** Calls under way on it. */
  busy: number;
  /** When its last call ended (`Date.now()`). */
  idleSince: number;
}

/** When a pool adds and closes connections. */
export interface PoolSizing {
  /**
   * Calls under way on the least busy connection at which a call adds one
   * (default 1: whenever every connection is busy).
   */
  readonly queueDepth?: number | undefined;
  /** Close connections unused this long (ms), down to one; never, without it. */
  readonly idleTimeout?: number | undefined;
}

/**
 * Each call goes to the connection with the fewest calls under way, the
 * first among equals. Several connections, not one: the server runs
 * one connection's commands strictly one after another (an ACK costs it a
 * few Redis round trips, ~0.2 ms), so one connection caps a worker near
 * 5,000 jobs/s however well it pipelines (`deno task bench`, drain at
 * concurrency 10: one connection 4,900 jobs/s, four 8,000+). A lost
 * connection reconnects on its next command.
 *
 * The pool sizes itself. It starts with the connections opened by
 * `connect` (often one); a call that finds `queueDepth` calls under way on
 * every connection (calls queueing behind others) adds one, in the
 * background, for the calls after it: one connect at a time, so the pool
 * grows only while the queueing lasts, never past `max`, and not again
 * until the backoff after a failed connect. With an `idleTimeout`, a
 * connection unused for that long is closed, down to the first one: closed
 * only when no call is under way on it, and taken out of the pool before,
 * so no call is cut off. Each
 * connection costs the server a goroutine and, with a password, a slow
 * handshake, so a pool opens only the ones its load needs.
 */
export class Pool {
  readonly #options: ClientConfig;
  readonly #max: number;
  readonly #idleTimeout: number | undefined;
  readonly #growAt: number;
  #slots: Slot[];
  #growing: Promise<void> | undefined;
  /** After failed attempts to add a connection, when the next may start. */
  #growAfter = 0;
  #growFailures = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** Connections taken out of the pool while idle, being closed. */
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;
  /** Aborts the connect adding a connection, on close. */
  readonly #stopGrowing = new AbortController();

  private constructor(
    options: ClientConfig,
    max: number,
    clients: Client[],
    { idleTimeout, queueDepth = 1 }: PoolSizing,
  ) {
    this.#options = options;
    this.#max = max;
    this.#idleTimeout = idleTimeout;
    this.#growAt = queueDepth;
    const now = Date.now();
    this.#slots = clients.map((client) => ({ client, busy: 0, idleSince: now }));
  }

  /**
   * Opens `open` connections now, in parallel (all `max` by default); if
   * one fails, closes the others and rejects. The rest open when needed, up
   * to `max` (see {@linkcode PoolSizing}). `signal` aborts the connections
   * opened now. With `open` 0 it connects nothing now: its first connection
   * opens at its first call.
   */
  static async connect(
    options: ClientOptions | ClientConfig,
    max: number,
    open = max,
    signal = (options as ClientOptions).signal,
    sizing: PoolSizing = {},
  ): Promise<Pool> {
    const config = resolveClientOptions(options);
    const opened = await Promise.allSettled(
      Array.from({ length: Math.max(0, Math.min(open, max)) }, () => openClient(config, signal)),
    );
    const clients = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = opened.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(clients.map((c) => c.close()));
      throw failed.reason;
    }
    if (clients.length === 0) clients.push(lazyClient(config));
    return new Pool(config, Math.max(1, max), clients, sizing);
  }

  /** The backoff of its connections, which it follows too when adding one fails. */
  get backoff(): BackoffPolicy {
    return this.#options.backoff;
  }

  /** The namespace of its connections' queues, if any. */
  get namespace(): string | undefined {
    return this.#options.namespace;
  }

  /** Runs `call` on the least busy connection. */
  use<T>(call: (client: Client) => Promise<T>): Promise<T> {
    const slot = this.#pick();
    if (slot.busy >= this.#growAt) this.#grow();
    slot.busy++;
    let result: Promise<T>;
    try {
      result = call(slot.client);
    } catch (e) {
      this.#release(slot);
      return Promise.reject(e);
    }
    // One reaction, not an async frame or `finally` (which chains two more promises): once per push.
    return result.then(
      (value) => (this.#release(slot), value),
      (error) => {
        this.#release(slot);
        throw error;
      },
    );
  }

  /** Ends a connect under way, lets the calls under way finish, then closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopGrowing.abort();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await this.#growing;
    await Promise.all([...this.#slots.map((s) => s.client.close()), ...this.#retiring]);
  }

  #release(slot: Slot): void {
    if (--slot.busy === 0) slot.idleSince = Date.now();
  }

  /** Adds a connection for later calls, one at a time and not right after a failure. */
  #grow(): void {
    if (
      this.#growing !== undefined || this.#closed || this.#slots.length >= this.#max ||
      Date.now() < this.#growAfter
    ) return;
    this.#growing = openClient(this.#options, this.#stopGrowing.signal).then(
      async (client) => {
        if (this.#closed) return await client.close();
        this.#slots.push({ client, busy: 0, idleSince: Date.now() });
        this.#growFailures = 0;
        this.#watchIdle();
      },
      // The connections there carry on; their own commands report a server that is down.
      () => {
        this.#growAfter = Date.now() + backoffDelay(this.#growFailures++, this.backoff);
      },
    ).finally(() => (this.#growing = undefined));
  }

  /** Checks for idle connections while there are more than one (and an idle timeout). */
  #watchIdle(): void {
    const idle = this.#idleTimeout;
    if (idle === undefined || this.#sweeper !== undefined || this.#slots.length < 2) return;
    // Half the timeout: a connection is closed between one and 1.5 timeouts after its last call.
    this.#sweeper = setInterval(() => this.#sweep(idle), Math.max(5, idle / 2));
  }

  /** Takes idle connections out (the first one stays) and closes them. */
  #sweep(idle: number): void {
    const cutoff = Date.now() - idle;
    const [first, ...rest] = this.#slots;
    const keep = rest.filter((s) => s.busy > 0 || s.idleSince > cutoff);
    if (keep.length < rest.length) {
      for (const s of rest) {
        if (keep.includes(s)) continue;
        const closing = s.client.close().finally(() => this.#retiring.delete(closing));
        this.#retiring.add(closing);
      }
      this.#slots = [first!, ...keep];
    }
    if (this.#slots.length < 2) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * The least busy connection, the first among equals: a light load stays
   * on the first connections and leaves the others idle, to be closed.
   */
  #pick(): Slot {
    const slots = this.#slots;
    let best = slots[0]!;
    for (let i = 1; i < slots.length && best.busy > 0; i++) {
      if (slots[i]!.busy < best.busy) best = slots[i]!;
    }
    return best;
  }
}

/**
 * The carried report: a finished job's ACK or FAIL rides ahead of the next
 * FETCH of the fetcher that brought the job, in the same write, so one round
 * trip serves both instead of two in a row. Measured: a worker draining no-op
 * jobs at concurrency 10 on Node, +8 % jobs/s (`deno task bench`).
 *
 * The whole hand-off, in the order it happens:
 *
 * 1. A fetcher waiting for a free slot has nothing under way on its
 *    connection: its carrier is {@linkcode Carrier.idle} (fetcher.ts).
 * 2. When a job finishes, the executor asks the carrier of the fetcher that
 *    brought it whether it can take the report now
 *    ({@linkcode Carrier.available}, executor.ts).
 * 3. If so, the report's first attempt is queued on it
 *    ({@linkcode Carrier.carry}, reporter.ts), and the job's slot is given to
 *    that very fetcher: `Slots.give(carrier.signal)`.
 * 4. The fetcher wakes, writes the queued reports, then its FETCH, in the
 *    same tick ({@linkcode Carrier.flush}): the connection sends them in one
 *    write.
 * 5. A fetcher that stops instead flushes its queue onto the reporting pool.
 *
 * Anything that goes wrong on the way is retried by the reporter over the
 * pool, as any report is.
 *
 * @module
 */

import type { Client } from "../client.ts";
import type { Pool } from "../pool.ts";

/** One fetcher's connection, seen as a carrier of reports. */
export class Carrier {
  /** Waiting for a slot, with nothing under way on its connection. */
  idle = false;
  /** The fetcher's connection, once it has one. */
  client: Client | undefined;
  readonly #queued: Array<(client: Client | undefined) => void> = [];

  /**
   * `signal` is the fetcher's own (aborted on quiet): it also names the
   * fetcher to `Slots.give`. `pool` takes what the fetcher no longer can.
   */
  constructor(readonly signal: AbortSignal, readonly pool: Pool) {}

  /** This carrier if a report can ride on it now, else undefined. */
  available(): Carrier | undefined {
    return this.idle && this.client !== undefined ? this : undefined;
  }

  /** Queues `call` for the fetcher's next write; settles as the call does. */
  carry(call: (client: Client) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queued.push((client) =>
        (client === undefined ? this.pool.use(call) : call(client)).then(resolve, reject)
      );
    });
  }

  /** Sends what is queued: on `client` just before a FETCH, or over the pool when given none. */
  flush(client: Client | undefined): void {
    if (this.#queued.length > 0) { for (const send of this.#queued.splice(0)) send(client); }
  }
}

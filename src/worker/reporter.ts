/**
 * Reporting a job's outcome: ACK or FAIL, retried until it gets through or
 * no longer matters, over connections of its own (or carried, see carry.ts).
 *
 * @module
 */

import { backoffDelay, sleep } from "../backoff.ts";
import type { Client } from "../client.ts";
import { ConnectionError, FaktoryError, ServerError } from "../errors.ts";
import { describeFailure } from "../failure.ts";
import { DEFAULT_RESERVE_FOR, type Job } from "../job.ts";
import type { Pool } from "../pool.ts";
import type { Carrier } from "./carry.ts";
import type { Events } from "./events.ts";

/**
 * Once stopping, how long after the shutdown deadline reports may still try
 * to get through: the FAILs of the jobs aborted at the deadline need a moment.
 */
export const REPORT_GRACE_MS = 5_000;

/** Sends ACKs and FAILs over a pool of connections (up to one per fetcher). */
export class Reporter {
  /**
   * One connection alone caps a worker near 5,000 jobs/s: see `Pool`.
   * `stopBy` is the shutdown deadline (ms since the epoch) once stopping, else 0.
   */
  constructor(readonly pool: Pool, readonly events: Events, readonly stopBy: () => number) {}

  /**
   * ACKs or FAILs. A lost connection is retried (the server takes ACK and
   * FAIL by jid on any connection, also after a restart) until the
   * reservation would have ended: past that the server has failed the job
   * itself and retries it. Once stopping, it gives up `REPORT_GRACE_MS`
   * after the shutdown deadline instead. The first attempt rides on
   * `carrier` when given one. `elapsed` is how long the job ran, in ms;
   * `reservationEnd` when its reservation ends (ms since the epoch). Never
   * rejects.
   */
  report(
    job: Job,
    error: unknown,
    elapsed: number,
    reservationEnd: number,
    carrier?: Carrier,
  ): Promise<void> {
    // Read once, and safely: `error` is whatever the handler threw.
    const details = error === undefined ? undefined : describeFailure(error);
    return this.#send(
      job.jid,
      details === undefined ? "ACK" : "FAIL",
      (c) => details === undefined ? c.ack(job.jid) : c.fail(job.jid, details),
      reservationEnd,
      carrier,
      () => {
        if (details === undefined) this.events.emit("success", job, elapsed);
        else {
          this.events.logger.warn(`Job ${job.jid} (${job.jobtype}) failed: ${details.message}`);
          this.events.emit("failure", job, error);
        }
      },
    );
  }

  /** FAILs a job that cannot run (a malformed FETCH reply), with the same retries. */
  fail(jid: string, error: Error): void {
    void this.#send(
      jid,
      "FAIL",
      (c) => c.fail(jid, error),
      Date.now() + DEFAULT_RESERVE_FOR * 1000,
    );
  }

  /** Sends one report with retries, then calls `sent` if it got through. Never rejects. */
  async #send(
    jid: string,
    verb: "ACK" | "FAIL",
    call: (client: Client) => Promise<void>,
    reservationEnd: number,
    carrier?: Carrier,
    sent?: () => void,
  ): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        await (attempt === 0 && carrier !== undefined ? carrier.carry(call) : this.pool.use(call));
        break;
      } catch (e) {
        // A FAIL sent again after its reply was lost finds the job gone: it got through.
        if (attempt > 0 && e instanceof ServerError && /not found/i.test(e.message)) break;
        const stopBy = this.stopBy();
        const deadline = stopBy > 0
          ? Math.min(reservationEnd, stopBy + REPORT_GRACE_MS)
          : reservationEnd;
        if (!(e instanceof ConnectionError) || Date.now() >= deadline) {
          this.events.error(
            new FaktoryError(
              `Could not ${verb} job ${jid} (${
                describeFailure(e).message
              }): the server retries it when its reservation ends`,
              { cause: e },
            ),
          );
          return;
        }
        await sleep(Math.min(backoffDelay(attempt, this.pool.backoff), deadline - Date.now()));
      }
    }
    sent?.();
  }

  /** Lets the reports under way finish, then closes the connections. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

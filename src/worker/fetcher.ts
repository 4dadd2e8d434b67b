/**
 * Fetching: one loop per fetcher connection, each taking a free slot, then
 * a job; the queue order of each FETCH; and what to do with a FETCH reply
 * that is not a job.
 *
 * @module
 */

import { backoffDelay, sleep } from "../backoff.ts";
import { openClient } from "../client.ts";
import type { ClientConfig } from "../client_options.ts";
import { ConnectionError, ProtocolError } from "../errors.ts";
import type { JobPayload } from "../payload.ts";
import type { Slots } from "../slots.ts";
import { Carrier } from "./carry.ts";
import type { Events } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { Reporter } from "./reporter.ts";

/** What a fetcher works with, shared by all of a worker's fetchers. */
export interface FetcherParts {
  readonly client: ClientConfig;
  readonly slots: Slots;
  readonly executor: Executor;
  readonly reporter: Reporter;
  readonly events: Events;
  /** The queue order for the next FETCH. */
  readonly order: () => readonly string[];
}

/**
 * One fetch loop on a connection of its own: waits for a free slot, then
 * fetches a job into it. Fetching is decoupled from running, so a slot is
 * filled without waiting behind one FETCH, and an idle worker waits in FETCH
 * (2 s each) instead of spinning.
 */
export class Fetcher {
  /**
   * A controller of its own, aborted on quiet. Its signal's listeners (quiet,
   * a slot or backoff wait) stay few; one signal shared by up to 16 fetchers
   * would collect over ten, and Node warns of a leak past ten.
   */
  readonly #quiet = new AbortController();
  readonly carrier: Carrier;

  constructor(readonly parts: FetcherParts, quiet: boolean) {
    if (quiet) this.#quiet.abort();
    this.carrier = new Carrier(this.#quiet.signal, parts.reporter.pool);
  }

  /** Stops fetching; a FETCH already sent still gets its reply (and job) first. */
  quiet(): void {
    this.#quiet.abort();
  }

  /**
   * Stops fetching and closes the connection at once, cutting off a FETCH
   * under way: a job the server hands out in that moment stays reserved
   * until its `reserve_for` ends (the worker's `abandonFetchOnStop`).
   */
  abandon(): void {
    this.#quiet.abort();
    this.carrier.client?.destroy();
  }

  /** Fetches until quiet, then closes its connection. */
  async run(): Promise<void> {
    const { slots, executor, events } = this.parts;
    const carrier = this.carrier;
    const { signal } = carrier;
    // Quiet closes the client at once: a reconnect (or its backoff wait) ends,
    // while a FETCH already sent still gets its reply (and job) first.
    const onQuiet = () => void carrier.client?.close();
    signal.addEventListener("abort", onQuiet, { once: true });
    let failures = 0;
    while (!signal.aborted) {
      carrier.idle = true;
      try {
        await slots.take(signal);
      } catch {
        break;
      } finally {
        carrier.idle = false;
      }
      let job: JobPayload | null = null;
      try {
        const client = carrier.client ??= await openClient(this.parts.client, signal);
        // Reports handed to this fetcher go out in the same write as the FETCH.
        carrier.flush(client);
        job = await client.fetch(this.parts.order());
        failures = 0;
      } catch (e) {
        slots.give();
        if (signal.aborted) break;
        events.error(e);
        // A lost connection is retried at once: the client backs off between
        // failed connects itself. Other errors (garbage, no client yet) wait here.
        if (!(e instanceof ConnectionError) || carrier.client === undefined) {
          await sleep(backoffDelay(failures++, this.parts.client.backoff), signal);
        }
        continue;
      }
      // A job fetched after quiet was already reserved for us: run it.
      if (job === null) slots.give();
      else if (!isJob(job)) {
        slots.give();
        this.#malformed(job);
      } else void executor.execute(job, carrier);
    }
    carrier.flush(undefined);
    signal.removeEventListener("abort", onQuiet);
    await carrier.client?.close();
  }

  /**
   * A FETCH reply that is not a job cannot run. With a jid it is FAILed, so
   * the server retries it or moves it to the dead set. Without one nothing
   * can name it to the server: it is logged and skipped (a reservation the
   * server made for it expires and the server retries it).
   */
  #malformed(payload: unknown): void {
    const jid = (payload as { jid?: unknown } | null)?.jid;
    const named = typeof jid === "string" && jid !== "";
    const error = new ProtocolError(
      `FETCH returned a malformed job${named ? ` ${jid}` : ""}: ` +
        "a job needs a jid, a jobtype and an args array",
    );
    this.parts.events.error(error);
    if (named) this.parts.reporter.fail(jid, error);
  }
}

/** The queue order for each FETCH: the queues as given, or a weighted shuffle per FETCH. */
export function queueOrder(
  queues: readonly string[],
  weights: readonly number[] | undefined,
): () => readonly string[] {
  if (weights === undefined) return () => queues;
  return () => {
    const left = [...queues];
    const w = [...weights];
    const order: string[] = [];
    while (left.length > 0) {
      let pick = Math.random() * w.reduce((a, b) => a + b, 0);
      let i = 0;
      while (i < w.length - 1 && (pick -= w[i]!) >= 0) i++;
      order.push(left.splice(i, 1)[0]!);
      w.splice(i, 1);
    }
    return order;
  };
}

/** Whether a FETCH reply has what running and reporting a job needs. */
function isJob(payload: unknown): payload is JobPayload {
  const p = payload as Partial<Record<keyof JobPayload, unknown>> | null;
  return typeof p === "object" && p !== null && typeof p.jid === "string" && p.jid !== "" &&
    typeof p.jobtype === "string" && Array.isArray(p.args) &&
    (p.reserve_for === undefined || Number.isFinite(p.reserve_for));
}

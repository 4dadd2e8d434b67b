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
import { ProtocolError, show } from "../errors.ts";
import type { JobPayload } from "../payload.ts";
import type { Slots } from "../slots.ts";
import { Carrier } from "./carry.ts";
import type { Events } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { Reporter } from "./reporter.ts";

/** A jid the worker can ACK or FAIL (see `validateJid`). */
const isJid = (jid: unknown): jid is string => typeof jid === "string" && jid !== "";

/** An empty FETCH reply sooner than this (ms) did not wait as Faktory's (~2 s) do. */
const EARLY_EMPTY_MS = 1_000;

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
   * a slot or backoff wait) stay few; one signal shared by up to 50 fetchers
   * would collect over ten, and Node warns of a leak past ten.
   */
  readonly #quiet = new AbortController();
  readonly carrier: Carrier;
  /** Settles once its first connect did, either way, or it stopped before one. */
  readonly opened: Promise<void>;
  #markOpened!: () => void;
  readonly #after: Promise<void> | undefined;

  /** With `after`, the first connect waits for it (another fetcher's `opened`). */
  constructor(readonly parts: FetcherParts, quiet: boolean, after?: Promise<void>) {
    if (quiet) this.#quiet.abort();
    this.carrier = new Carrier(this.#quiet.signal, parts.reporter.pool);
    this.opened = new Promise((resolve) => (this.#markOpened = resolve));
    this.#after = after;
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
    // Failed FETCHes in a row, whatever failed: the connection, the server
    // (an error reply such as "shutdown in progress", on a connection that
    // stays open), or its reply (not a job). Each waits the one backoff
    // policy; after a lost connection the client's own backoff before its
    // reconnect runs in the same time, not after it.
    let failures = 0;
    const backOff = () => sleep(backoffDelay(failures++, this.parts.client.backoff), signal);
    if (this.#after !== undefined) await settledOrAborted(this.#after, signal);
    while (!signal.aborted) {
      carrier.idle = true;
      try {
        await slots.take(signal);
      } catch {
        break;
      } finally {
        carrier.idle = false;
      }
      let reply: unknown;
      let sent = 0;
      try {
        const client = carrier.client ??= await openClient(this.parts.client, signal)
          .finally(this.#markOpened);
        // Reports handed to this fetcher go out in the same write as the FETCH.
        carrier.flush(client);
        sent = Date.now();
        reply = await client.fetch(this.parts.order());
      } catch (e) {
        slots.give();
        if (signal.aborted) break;
        events.error(e);
        await backOff();
        continue;
      }
      if (reply === null) {
        slots.give();
        // The server holds an empty FETCH for ~2 s: one back much sooner
        // comes from a broken or hostile server, and is paced as a failure.
        if (Date.now() - sent >= EARLY_EMPTY_MS) failures = 0;
        else await backOff();
        continue;
      }
      const problem = malformed(reply);
      if (problem === undefined) {
        // A job fetched after quiet was already reserved for us: run it.
        failures = 0;
        void executor.execute(reply as JobPayload, carrier);
      } else {
        slots.give();
        this.#refuse(reply, problem);
        await backOff();
      }
    }
    this.#markOpened();
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
  #refuse(reply: unknown, problem: string): void {
    const error = new ProtocolError(`FETCH returned ${problem}`);
    this.parts.events.error(error);
    const jid = (reply as { jid?: unknown }).jid;
    if (isJid(jid)) this.parts.reporter.fail(jid, error);
  }
}

/** Resolves once `promise` settles or `signal` aborts, whichever is first. */
function settledOrAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    promise.then(done, done);
  });
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

/**
 * What keeps a FETCH reply from running and being reported as a job, or
 * undefined if nothing does. Only the fields a job cannot run without are
 * checked: `Job`'s getters stand in for the server's defaults where the
 * others are missing or of the wrong type.
 */
function malformed(reply: unknown): string | undefined {
  if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
    return `${Array.isArray(reply) ? "an array" : show(reply)}, not a job`;
  }
  const job = reply as Partial<Record<keyof JobPayload, unknown>>;
  const named = isJid(job.jid);
  const problem = !named
    ? "it has no jid"
    : typeof job.jobtype !== "string"
    ? "its jobtype is not a string"
    : !Array.isArray(job.args)
    ? "its args are not an array"
    : undefined;
  return problem && `a malformed job${named ? ` ${show(job.jid)}` : ""}: ${problem}`;
}

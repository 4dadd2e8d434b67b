/**
 * The Faktory client: one connection, every command of the open-source
 * server and Faktory Enterprise's BATCH and TRACK, typed.
 *
 * @module
 */

import { backoffDelay, sleep } from "./backoff.ts";
import { Connection } from "./connection.ts";
import { ConnectionError, ProtocolError, ValidationError } from "./errors.ts";
import { describeFailure } from "./failure.ts";
import type { ServerInfo } from "./info.ts";
import {
  batchNewPayload,
  type BatchOptions,
  type BatchStatus,
  parseBatchStatus,
} from "./ent/batch.ts";
import {
  type JobTracking,
  parseTracking,
  type TrackingUpdate,
  trackSetPayload,
} from "./ent/tracking.ts";
import {
  type JobFilter,
  type JobSet,
  type MutateAction,
  mutateCommand,
  validateSet,
} from "./mutate.ts";
import type { Logger } from "./logger.ts";
import { type JobPayload, MAX_JOB_BYTES, validatePayload } from "./payload.ts";
import * as cmd from "./protocol/command.ts";
import { detectRuntime } from "./runtime/detect.ts";
import type { Runtime, TlsOptions } from "./runtime/types.ts";
import { envSettings, namespaced, parseUrl } from "./settings.ts";

/**
 * How to reach the server and how long to wait for it.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "@faktory-ts/faktory";
 * const options: ClientOptions = {
 *   url: "tcp+tls://:secret@faktory.internal:7419",
 *   tls: { caCerts: ["-----BEGIN CERTIFICATE-----\n..."] },
 *   commandTimeout: 5_000,
 * };
 * ```
 */
export interface ClientOptions {
  /**
   * `tcp(+tls)://(:password@)host:port(/namespace)`. Defaults to the URL in
   * the environment variable named by `FAKTORY_PROVIDER` (default
   * `FAKTORY_URL`), else `tcp://localhost:7419`.
   */
  readonly url?: string | undefined;
  /** Overrides the URL's host. */
  readonly hostname?: string | undefined;
  /** Overrides the URL's port. */
  readonly port?: number | undefined;
  /** Overrides the URL's password. */
  readonly password?: string | undefined;
  /** Overrides the URL's namespace (a prefix for every queue name). */
  readonly namespace?: string | undefined;
  /** `true` or TLS settings (extra CA certificates) turn TLS on; `false` off. Defaults to the URL's scheme. */
  readonly tls?: boolean | TlsOptions | undefined;
  /** Labels shown in the web UI. */
  readonly labels?: readonly string[] | undefined;
  /** Worker id: set only for a worker's connections, it registers a heartbeat entry. */
  readonly wid?: string | undefined;
  /** Limit on connecting plus handshake, in ms (default 10 000). */
  readonly connectTimeout?: number | undefined;
  /** Limit on each command's reply, in ms (default 10 000); FETCH gets 2 s more for its wait. */
  readonly commandTimeout?: number | undefined;
  /** Socket adapter; detected when absent. */
  readonly runtime?: Runtime | undefined;
  /** Where to log (default `console`). */
  readonly logger?: Logger | undefined;
  /** Aborts the initial connect. */
  readonly signal?: AbortSignal | undefined;
}

/** The server's answer to BEAT: what the worker should do now. */
export type WorkerState = "quiet" | "terminate";

/** The server's default number of retries. */
const DEFAULT_RETRY = 25;

/** The server's fetch wait (~2 s) on top of the normal command timeout. */
const FETCH_BLOCK_MS = 2_000;

/**
 * Reconnect backoff: the n-th failed connect in a row makes the next attempt
 * wait a random time up to `BASE * 2^n`, at most `MAX`, so a restarted server
 * is back in use within seconds but is not flooded while it is down.
 */
const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * A connection to Faktory with a method per command. Concurrent calls are
 * written in order on the one connection and never interleave. When the
 * connection is lost, the commands waiting on it reject with
 * `ConnectionError` and the next call connects again.
 *
 * @example
 * ```ts ignore
 * import { Client, randomJid } from "@faktory-ts/faktory";
 * await using client = await Client.connect("tcp://localhost:7419");
 * await client.push({ jid: randomJid(), jobtype: "Hello", args: ["world"] });
 * const job = await client.fetch(["default"]);
 * if (job) await client.ack(job.jid);
 * ```
 */
export class Client implements AsyncDisposable {
  readonly #options: ResolvedOptions;
  #connection: Connection | undefined;
  #fetchCommand: { readonly queues: readonly string[]; readonly bytes: Uint8Array } | undefined;
  #opening: Promise<Connection> | undefined;
  /** Aborts the connect under way, or its backoff wait, when the client closes. */
  #attempt: AbortController | undefined;
  /** Failed connects in a row, and when the next attempt may start. */
  #failures = 0;
  #retryAt = 0;
  #closed = false;

  private constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /**
   * Connects and says HELLO. Rejects with `ConnectionError`,
   * `AuthenticationError` or `ValidationError` (a bad URL) saying what to check.
   */
  static async connect(options: ClientOptions | string = {}): Promise<Client> {
    const client = new Client(
      resolveOptions(typeof options === "string" ? { url: options } : options),
    );
    await client.#connect(typeof options === "string" ? undefined : options.signal);
    return client;
  }

  /** The namespace prefixed to queue names, if any. */
  get namespace(): string | undefined {
    return this.#options.namespace;
  }

  /** The worker id this client said HELLO with, if any. */
  get wid(): string | undefined {
    return this.#options.hello.wid;
  }

  /**
   * Pushes one job and resolves with its jid once the server has it. The job
   * is checked first; a bad one is refused with `ValidationError`.
   *
   * @example
   * ```ts ignore
   * await client.push({ jid: randomJid(), jobtype: "Resize", args: [42], queue: "images" });
   * ```
   */
  async push(job: JobPayload): Promise<string> {
    await this.#send(encodeJob("PUSH", this.#prepare(job)), "PUSH");
    return job.jid;
  }

  /**
   * Pushes many jobs in one command. Resolves with the jobs the server
   * refused, as `{ jid: reason }` (empty when all were accepted). Keep
   * batches to about 1000 jobs.
   *
   * @example
   * ```ts ignore
   * const refused = await client.pushBulk(jobs);
   * for (const [jid, reason] of Object.entries(refused)) console.error(jid, reason);
   * ```
   */
  async pushBulk(jobs: readonly JobPayload[]): Promise<Record<string, string>> {
    if (!Array.isArray(jobs)) throw new ValidationError("pushBulk takes an array of jobs");
    if (jobs.length === 0) return {};
    const reply = await this.#send(encodeJob("PUSHB", jobs.map((j) => this.#prepare(j))), "PUSHB");
    return parseJson(reply, "PUSHB") as Record<string, string> ?? {};
  }

  /**
   * Takes the next job from the first non-empty queue, in the order given.
   * Resolves with `null` when the queues stayed empty for about 2 s.
   *
   * @example
   * ```ts ignore
   * const job = await client.fetch(["critical", "default"]);
   * ```
   */
  fetch(queues: readonly string[]): Promise<JobPayload | null> {
    const ns = this.#options.namespace;
    // A worker fetches from the same queues (the same array) every time: encode once.
    let command = this.#fetchCommand?.queues === queues ? this.#fetchCommand.bytes : undefined;
    if (command === undefined) {
      try {
        command = cmd.fetch(queues.map((q) => namespaced(ns, cmd.validateQueue(q))));
      } catch (e) {
        return Promise.reject(e);
      }
      this.#fetchCommand = { queues, bytes: command };
    }
    // `.then`, not `async`: a worker calls this once per job, and an async
    // frame costs about three times the allocation.
    const timeout = this.#options.commandTimeout + FETCH_BLOCK_MS;
    return this.#send(command, "FETCH", timeout).then((reply) => {
      const job = parseJson(reply, "FETCH") as JobPayload | null;
      if (job !== null && ns !== undefined && job.queue?.startsWith(ns)) {
        job.queue = job.queue.slice(ns.length);
      }
      return job;
    });
  }

  /**
   * Reports a job as done.
   *
   * @example
   * ```ts ignore
   * await client.ack(job.jid);
   * ```
   */
  ack(jid: string): Promise<void> {
    let command: Uint8Array;
    try {
      command = cmd.ack(cmd.validateWord(jid, "jid"));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#send(command, "ACK").then(nothing); // once per job, as fetch
  }

  /**
   * Reports a job as failed, so the server retries it (or moves it to the
   * dead set). `error` may be anything thrown, or `{ errtype, message, backtrace }`.
   *
   * @example
   * ```ts ignore
   * await client.fail(job.jid, new Error("Printer on fire"));
   * ```
   */
  async fail(jid: string, error: unknown): Promise<void> {
    const payload = { jid: cmd.validateWord(jid, "jid"), ...describeFailure(error) };
    await this.#send(cmd.withJson("FAIL", payload), "FAIL");
  }

  /**
   * Sends a heartbeat for this client's worker id. Resolves with what the
   * server wants the worker to do (`quiet` or `terminate`), or `null` to
   * carry on. `state` tells the server what the worker is doing already.
   *
   * @example
   * ```ts ignore
   * const state = await client.beat();
   * if (state === "terminate") await worker.stop();
   * ```
   */
  async beat(options: { state?: WorkerState; rssKb?: number } = {}): Promise<WorkerState | null> {
    const wid = this.#options.hello.wid;
    if (wid === undefined) {
      throw new ValidationError("beat needs a worker id: connect with the wid option");
    }
    const payload: Record<string, unknown> = { wid };
    if (options.state !== undefined) payload.current_state = options.state;
    if (options.rssKb !== undefined) payload.rss_kb = Math.round(options.rssKb);
    const reply = await this.#send(cmd.withJson("BEAT", payload), "BEAT");
    if (reply === "OK" || reply === null) return null;
    const state = (parseJson(reply, "BEAT") as { state?: unknown } | null)?.state;
    if (state === "quiet" || state === "terminate") return state;
    throw new ProtocolError(`Unexpected BEAT reply ${JSON.stringify(reply.slice(0, 80))}`);
  }

  /**
   * The server's figures: queue sizes, totals, version.
   *
   * @example
   * ```ts ignore
   * const info = await client.info();
   * console.log(info.faktory.queues);
   * ```
   */
  async info(): Promise<ServerInfo> {
    const info = parseJson(await this.#send(cmd.words("INFO", []), "INFO"), "INFO");
    if (info === null || typeof info !== "object") {
      throw new ProtocolError("INFO reply is not an object");
    }
    return info as ServerInfo;
  }

  /**
   * Deletes every job and statistic on the server. Meant for tests.
   *
   * @example
   * ```ts ignore
   * await client.flush();
   * ```
   */
  async flush(): Promise<void> {
    await this.#send(cmd.words("FLUSH", []), "FLUSH");
  }

  /**
   * Sends an encoded command and resolves with the raw reply. For commands
   * this class has no method for; prefer the methods.
   */
  async send(command: Uint8Array, verb: string, timeout?: number): Promise<string | null> {
    return await this.#send(command, verb, timeout);
  }

  /**
   * Lets commands already sent finish, says END and closes the connection.
   * Later calls reject with `ConnectionError`.
   *
   * @example
   * ```ts ignore
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#attempt?.abort(new ConnectionError("The client is closed"));
    await this.#opening?.catch(() => {});
    await this.#connection?.close();
  }

  /**
   * Closes at once, without waiting for replies: commands still waiting
   * reject with `ConnectionError`. A FETCH cut off this way may already have
   * taken a job, which then stays reserved until its `reserve_for` ends.
   *
   * @example
   * ```ts ignore
   * client.destroy();
   * ```
   */
  destroy(): void {
    this.#closed = true;
    this.#attempt?.abort(new ConnectionError("The client is closed"));
    this.#connection?.destroy(new ConnectionError("The client is closed"));
  }

  /** Same as {@linkcode Client.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #prepare(job: JobPayload): JobPayload {
    validatePayload(job);
    const ns = this.#options.namespace;
    // Always send retry: Faktory's PUSH (1.9.4 and 1.10.0 alike) decodes a
    // job's retry through a pointer to its global default, so one push with an
    // explicit retry (say -1) silently becomes the default for every later
    // job without one.
    if (ns === undefined && job.retry !== undefined) return job;
    return {
      ...job,
      retry: job.retry ?? DEFAULT_RETRY,
      ...(ns === undefined ? {} : { queue: namespaced(ns, job.queue ?? "default") }),
    };
  }

  #send(command: Uint8Array, verb: string, timeout = this.#options.commandTimeout) {
    const connection = this.#connection;
    if (connection?.isOpen) return connection.send(command, verb, timeout);
    return this.#connect(undefined).then((c) => c.send(command, verb, timeout));
  }

  /**
   * The open connection, or a new one when there is none or it was lost.
   * Concurrent callers share one attempt.
   */
  #connect(signal: AbortSignal | undefined): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ConnectionError("The client is closed"));
    if (this.#connection?.isOpen) return Promise.resolve(this.#connection);
    this.#opening ??= this.#open(signal).finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  /**
   * Connects and says HELLO (again, after a loss: the server then knows this
   * client and its wid anew). After failed attempts it first waits out an
   * exponential, jittered, capped backoff, so a server that is down is not
   * hammered by every command. A connection lost before its first reply
   * counts as a failed attempt too: a server or proxy that accepts and drops
   * at once is backed off as well.
   */
  async #open(signal: AbortSignal | undefined): Promise<Connection> {
    const o = this.#options;
    const last = this.#connection;
    this.#connection = undefined;
    if (last?.answered) this.#failures = 0;
    else if (last !== undefined) this.#backOff();
    const attempt = new AbortController();
    this.#attempt = attempt;
    const abort = signal ? AbortSignal.any([signal, attempt.signal]) : attempt.signal;
    try {
      const wait = this.#retryAt - Date.now();
      if (wait > 0) {
        o.logger.debug(
          `Reconnecting to Faktory at ${o.hostname}:${o.port} in ${Math.round(wait)} ms`,
        );
        await sleep(wait, abort);
        if (abort.aborted) {
          throw new ConnectionError(
            this.#closed ? "The client is closed" : "Connecting to Faktory was aborted",
            { cause: abort.reason },
          );
        }
      }
      const connection = await Connection.open({
        runtime: o.runtime,
        hostname: o.hostname,
        port: o.port,
        tls: o.tls,
        password: o.password,
        hello: o.hello,
        connectTimeout: o.connectTimeout,
        logger: o.logger,
        signal: abort,
      }).catch((e) => {
        this.#backOff();
        throw e;
      });
      this.#connection = connection;
      if (this.#closed) void connection.close();
      return connection;
    } finally {
      if (this.#attempt === attempt) this.#attempt = undefined;
    }
  }

  #backOff(): void {
    const delay = backoffDelay(this.#failures++, RECONNECT_BASE_MS, RECONNECT_MAX_MS);
    this.#retryAt = Date.now() + delay;
  }

  // ---- MUTATE: the retry, scheduled and dead sets ---------------------------
  // The sets are shared by every namespace: a namespace does not narrow them.

  /**
   * Moves the jobs of a set that match `filter` back to their queues, to run
   * now. `{ pattern: "*" }` matches every job. Refused with
   * `ValidationError` before anything is sent: an empty filter, or jids
   * mixed with `pattern`/`jobtype` (the server would ignore those).
   *
   * @example
   * ```ts ignore
   * await client.requeue("dead", { jobtype: "SendEmail" });
   * await client.requeue("retries", { jids: [jid] });
   * await client.requeue("dead", { pattern: "*hello world*" }); // a Redis glob on the job's JSON
   * ```
   */
  async requeue(set: JobSet, filter: JobFilter): Promise<void> {
    await this.#mutate("requeue", set, filter);
  }

  /**
   * Deletes the jobs of a set that match `filter`. To delete every job of a
   * set, use {@linkcode Client.clear}.
   *
   * @example
   * ```ts ignore
   * await client.discard("retries", { jobtype: "QuickbooksSync" });
   * ```
   */
  async discard(set: JobSet, filter: JobFilter): Promise<void> {
    await this.#mutate("discard", set, filter);
  }

  /**
   * Moves the jobs of the retry or scheduled set that match `filter` to the
   * dead set: they will not run, but stay visible (and requeueable) there.
   *
   * @example
   * ```ts ignore
   * await client.kill("retries", { pattern: '*"user-42"*', jobtype: "SyncUser" });
   * ```
   */
  async kill(set: "retries" | "scheduled", filter: JobFilter): Promise<void> {
    await this.#mutate("kill", set, filter);
  }

  /**
   * Deletes every job of a set.
   *
   * @example
   * ```ts ignore
   * await client.clear("dead");
   * ```
   */
  async clear(set: JobSet): Promise<void> {
    await this.#mutate("clear", set);
  }

  // ---- QUEUE -----------------------------------------------------------------

  /**
   * Pauses queues: FETCH skips them and their jobs wait until they are
   * resumed. `"*"` pauses every queue (of this client's namespace, if it has
   * one). The server ignores a queue it has never seen a job for.
   *
   * @example
   * ```ts ignore
   * await client.pauseQueues(["mail", "reports"]);
   * ```
   */
  async pauseQueues(queues: readonly string[] | "*"): Promise<void> {
    await this.#queues("PAUSE", queues, "pauseQueues");
  }

  /**
   * Resumes paused queues. `"*"` resumes every queue (of this client's
   * namespace, if it has one).
   *
   * @example
   * ```ts ignore
   * await client.resumeQueues(["mail", "reports"]);
   * ```
   */
  async resumeQueues(queues: readonly string[] | "*"): Promise<void> {
    await this.#queues("RESUME", queues, "resumeQueues");
  }

  /**
   * Deletes queues and every job waiting in them. `"*"` deletes every queue
   * (of this client's namespace, if it has one).
   *
   * @example
   * ```ts ignore
   * await client.removeQueues(["obsolete"]);
   * ```
   */
  async removeQueues(queues: readonly string[] | "*"): Promise<void> {
    await this.#queues("REMOVE", queues, "removeQueues");
  }

  /**
   * How long the oldest job of each queue has been waiting, in seconds
   * (0 for an empty or unknown queue), keyed by queue name.
   *
   * @example
   * ```ts ignore
   * const latency = await client.queueLatency(["critical", "default"]);
   * if (latency.critical! > 30) console.warn("critical is backing up");
   * ```
   */
  async queueLatency(queues: readonly string[]): Promise<Record<string, number>> {
    const names = this.#queueNames(queues, "queueLatency");
    const reply = await this.#send(cmd.words("QUEUE", ["LATENCY", ...names]), "QUEUE LATENCY");
    const latency = parseJson(reply, "QUEUE LATENCY");
    if (latency === null || typeof latency !== "object" || Array.isArray(latency)) {
      throw new ProtocolError("QUEUE LATENCY reply is not an object");
    }
    const ns = this.#options.namespace ?? "";
    const out: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(latency)) {
      out[name.startsWith(ns) ? name.slice(ns.length) : name] = Number(seconds);
    }
    return out;
  }

  // ---- Faktory Enterprise: batches -------------------------------------------

  /**
   * Creates a batch (Faktory Enterprise) and resolves with its id. Push its
   * jobs with the `batchId` job option (or `custom.bid`), then
   * {@linkcode Client.commitBatch}: the callbacks fire only after the commit.
   * Callback jobs are checked and namespaced like pushed jobs. On the
   * open-source server, rejects with `EnterpriseRequiredError`.
   *
   * @example
   * ```ts ignore
   * const bid = await client.newBatch({
   *   description: "Import 42",
   *   success: buildPayload({ jobtype: "ImportDone" }, [42]),
   * });
   * await producer.perform({ jobtype: "ImportRow", batchId: bid }, [42, 1]);
   * await client.commitBatch(bid);
   * ```
   */
  async newBatch(options: BatchOptions): Promise<string> {
    const payload = batchNewPayload(options, (job) => this.#prepare(job));
    const bid = await this.#send(encodeJob("BATCH NEW", payload), "BATCH NEW");
    if (bid === null || bid === "" || bid === "OK") {
      throw new ProtocolError(`BATCH NEW reply ${JSON.stringify(bid)} is not a batch id`);
    }
    return bid;
  }

  /**
   * Reopens a committed batch (Faktory Enterprise) to add jobs to it, e.g.
   * from one of its own jobs; commit it again afterwards.
   *
   * @example
   * ```ts ignore
   * await client.openBatch(job.batchId!);
   * await producer.perform({ jobtype: "ImportRow", batchId: job.batchId }, [42, 2]);
   * await client.commitBatch(job.batchId!);
   * ```
   */
  async openBatch(bid: string): Promise<void> {
    await this.#send(cmd.words("BATCH", ["OPEN", cmd.validateWord(bid, "batch id")]), "BATCH OPEN");
  }

  /**
   * Commits a batch (Faktory Enterprise): all its jobs are pushed, so its
   * callbacks may fire once they have run.
   *
   * @example
   * ```ts ignore
   * await client.commitBatch(bid);
   * ```
   */
  async commitBatch(bid: string): Promise<void> {
    const command = cmd.words("BATCH", ["COMMIT", cmd.validateWord(bid, "batch id")]);
    await this.#send(command, "BATCH COMMIT");
  }

  /**
   * A batch's progress (Faktory Enterprise): job counts and callback states.
   *
   * @example
   * ```ts ignore
   * const { total, pending, failed } = await client.batchStatus(bid);
   * ```
   */
  async batchStatus(bid: string): Promise<BatchStatus> {
    const command = cmd.words("BATCH", ["STATUS", cmd.validateWord(bid, "batch id")]);
    return parseBatchStatus(
      parseJson(await this.#send(command, "BATCH STATUS"), "BATCH STATUS"),
      bid,
    );
  }

  // ---- Faktory Enterprise: tracking ------------------------------------------

  /**
   * A tracked job's state and progress (Faktory Enterprise). Push the job
   * with the `tracked: true` option; others read as state `unknown`.
   *
   * @example
   * ```ts ignore
   * const { state, percent } = await client.getTracking(jid);
   * ```
   */
  async getTracking(jid: string): Promise<JobTracking> {
    const command = cmd.words("TRACK", ["GET", cmd.validateWord(jid, "jid")]);
    return parseTracking(parseJson(await this.#send(command, "TRACK GET"), "TRACK GET"), jid);
  }

  /**
   * Reports a tracked job's progress (Faktory Enterprise), from the worker
   * running it; `reserveUntil` extends its reservation.
   *
   * @example
   * ```ts ignore
   * await client.setTracking({ jid: job.jid, percent: 50, description: "Halfway" });
   * ```
   */
  async setTracking(update: TrackingUpdate): Promise<void> {
    await this.#send(cmd.withJson("TRACK SET", trackSetPayload(update)), "TRACK SET");
  }

  async #mutate(action: MutateAction, set: JobSet, filter?: JobFilter): Promise<void> {
    const target = validateSet(set, action === "kill" ? ["retries", "scheduled"] : undefined);
    const command = mutateCommand(action, target, filter);
    if (command !== null) await this.#send(command, "MUTATE");
  }

  /**
   * Validated, namespaced queue names; at least one: QUEUE without one
   * crashes Faktory 1.9.4 (1.10.0 answers `-ERR internal error`).
   */
  #queueNames(queues: readonly string[], method: string): string[] {
    if (!Array.isArray(queues) || queues.length === 0) {
      throw new ValidationError(
        `${method} needs at least one queue: pass an array of queue names${
          method === "queueLatency" ? "" : ' or "*" for all'
        }`,
      );
    }
    return queues.map((q) => namespaced(this.#options.namespace, cmd.validateQueue(q)));
  }

  async #queues(sub: string, queues: readonly string[] | "*", method: string): Promise<void> {
    let names: string[];
    const ns = this.#options.namespace;
    if (queues !== "*") names = this.#queueNames(queues, method);
    else if (ns === undefined) names = ["*"];
    else {
      // The server's "*" means every namespace: list this namespace's queues instead.
      names = Object.keys((await this.info()).faktory.queues).filter((q) => q.startsWith(ns));
      if (names.length === 0) return;
    }
    await this.#send(cmd.words("QUEUE", [sub, ...names]), `QUEUE ${sub}`);
  }
}

function encodeJob(verb: string, payload: unknown): Uint8Array {
  const bytes = cmd.withJson(verb, payload);
  if (bytes.length > MAX_JOB_BYTES) {
    throw new ValidationError(
      `${verb} payload is ${bytes.length} bytes, over the ${MAX_JOB_BYTES}-byte limit: pass a reference (an id, a URL) instead of the data`,
    );
  }
  return bytes;
}

function nothing(): void {}

function parseJson(reply: string | null, verb: string): unknown {
  if (reply === null) return null;
  try {
    return JSON.parse(reply);
  } catch (cause) {
    throw new ProtocolError(`${verb} reply is not valid JSON`, { cause });
  }
}

interface ResolvedOptions {
  readonly runtime: Runtime;
  readonly hostname: string;
  readonly port: number;
  readonly tls: TlsOptions | undefined;
  readonly password: string | undefined;
  readonly namespace: string | undefined;
  readonly hello: {
    hostname: string;
    pid: number;
    labels: readonly string[];
    wid?: string | undefined;
  };
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  readonly logger: Logger;
}

/** Fills in defaults and checks every option before anything connects. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const runtime = options.runtime ?? detectRuntime();
  const url = options.url ?? envSettings((name) => runtime.env(name)).url;
  const address = parseUrl(url);
  const port = options.port ?? address.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`Invalid port ${port}: use 1-65535`);
  }
  const namespace = options.namespace ?? address.namespace;
  if (namespace !== undefined) cmd.validateQueue(namespace, "namespace");
  const tls = options.tls === undefined
    ? (address.tls ? {} : undefined)
    : options.tls === false
    ? undefined
    : options.tls === true
    ? {}
    : options.tls;
  const labels = options.labels ?? [];
  for (const label of labels) {
    if (typeof label !== "string") throw new ValidationError("Labels must be strings");
  }
  if (options.wid !== undefined) cmd.validateWord(options.wid, "worker id");
  return {
    runtime,
    hostname: options.hostname ?? address.hostname,
    port,
    tls,
    password: options.password ?? address.password,
    namespace,
    hello: { hostname: runtime.hostname(), pid: runtime.pid(), labels, wid: options.wid },
    connectTimeout: positive(options.connectTimeout, 10_000, "connectTimeout"),
    commandTimeout: positive(options.commandTimeout, 10_000, "commandTimeout"),
    logger: options.logger ?? console,
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new ValidationError(`Invalid ${name} ${value}: use a positive number of milliseconds`);
  }
  return value;
}

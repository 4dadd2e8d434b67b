/**
 * The Faktory client: one connection, every command of the open-source
 * server and Faktory Enterprise's BATCH and TRACK, typed.
 *
 * @module
 */

import { beat, type BeatOptions, type WorkerState } from "./beat.ts";
import { pushPayloads } from "./bulk.ts";
import { type ClientConfig, type ClientOptions, resolveClientOptions } from "./client_options.ts";
import * as ent from "./ent/commands.ts";
import type { BatchOptions, BatchStatus } from "./ent/batch.ts";
import type { JobTracking, TrackingUpdate } from "./ent/tracking.ts";
import { describeFailure } from "./failure.ts";
import { FetchCommand } from "./fetch_command.ts";
import { parseInfo, type ServerInfo } from "./info.ts";
import { type JobFilter, type JobSet, mutate } from "./mutate.ts";
import { encodeJob, type JobPayload, pushJson } from "./payload.ts";
import * as cmd from "./protocol/command.ts";
import { parseJsonReply as parseJson } from "./protocol/reply.ts";
import * as queue from "./queues.ts";
import { Reconnecting } from "./reconnect.ts";
import { checkOptions, SEND_ARGUMENTS } from "./rules.ts";

/** The server's fetch wait (~2 s) on top of the normal command timeout. */
const FETCH_BLOCK_MS = 2_000;

/** Clients on resolved options: connected first, or at the first command (or `connectClient`). */
export let openClient: (config: ClientConfig, signal?: AbortSignal) => Promise<Client>;
export let lazyClient: (config: ClientConfig) => Client;
export let connectClient: (client: Client, signal?: AbortSignal) => Promise<Client>;

/**
 * A connection to Faktory with a method per command. Concurrent calls are
 * written in order on the one connection and never interleave. When the
 * connection is lost, the commands waiting on it reject with
 * `ConnectionError` and the next call connects again. It sends what it is
 * given: no push middleware, no default job options (a `Producer` adds those).
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
  readonly #options: ClientConfig;
  /** The connection, and reconnecting when it is lost: reconnect.ts. */
  readonly #link: Reconnecting;
  readonly #fetch: FetchCommand;

  private constructor(options: ClientConfig) {
    this.#options = options;
    this.#link = new Reconnecting(options);
    this.#fetch = new FetchCommand(options.namespace);
  }

  static {
    lazyClient = (config) => new Client(config);
    connectClient = async (client, signal) => (await client.#link.connect(signal), client);
    openClient = (config, signal) => connectClient(lazyClient(config), signal);
  }

  /**
   * Connects and says HELLO. Rejects with `ConnectionError`,
   * `AuthenticationError` or `ValidationError` (a bad URL) saying what to check.
   */
  static async connect(options: ClientOptions | string = {}): Promise<Client> {
    const o = typeof options === "string" ? { url: options } : options;
    return await openClient(resolveClientOptions(o), o.signal);
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
  push(job: JobPayload): Promise<string> {
    try {
      const command = encodeJob("PUSH", pushJson(job, this.#options.namespace));
      return this.#send(command, "PUSH").then(() => job.jid); // once per job, as fetch
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Pushes many jobs, in PUSHB commands of up to 1000 jobs, every one built
   * and checked before the first is sent (a `ValidationError` names a bad
   * job by its place: `Invalid jobs[3].queue ...`). Resolves with the jobs
   * the server refused, as `{ jid: reason }` (empty when all were accepted);
   * a failure part way throws `BulkPushError` saying which jobs were pushed.
   *
   * @example
   * ```ts ignore
   * const refused = await client.pushBulk(jobs);
   * for (const [jid, reason] of Object.entries(refused)) console.error(jid, reason);
   * ```
   */
  async pushBulk(jobs: readonly JobPayload[]): Promise<Record<string, string>> {
    return await pushPayloads(jobs, this.#options.namespace, (c) => this.#send(c, "PUSHB"));
  }

  /**
   * Takes the next job from the first non-empty queue, in the order given.
   * Resolves with `null` when the queues stayed empty for about 2 s. The job
   * is parsed JSON as the server sent it: from a server you do not trust,
   * check its fields before use (a `Worker` does).
   *
   * @example
   * ```ts ignore
   * const job = await client.fetch(["critical", "default"]);
   * ```
   */
  fetch(queues: readonly string[]): Promise<JobPayload | null> {
    let command: Uint8Array;
    try {
      command = this.#fetch.bytes(queues);
    } catch (e) {
      return Promise.reject(e);
    }
    // `.then`, not `async`: once per job, and an async frame allocates ~3x.
    const timeout = this.#options.commandTimeout + FETCH_BLOCK_MS;
    return this.#send(command, "FETCH", timeout).then((reply) => this.#fetch.job(reply));
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
    try {
      return this.#send(cmd.ack(cmd.validateJid(jid)), "ACK").then(nothing); // once per job, as fetch
    } catch (e) {
      return Promise.reject(e);
    }
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
    const payload = { jid: cmd.validateJid(jid), ...describeFailure(error) };
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
  beat(options: BeatOptions = {}): Promise<WorkerState | null> {
    return beat(this, options);
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
    return parseInfo(parseJson(await this.#send(cmd.words("INFO", []), "INFO"), "INFO"));
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
    checkOptions(SEND_ARGUMENTS, { command, verb, timeout }, "arguments");
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
    await this.#link.close();
  }

  /**
   * Closes at once: waiting commands reject. A FETCH cut off may have taken a
   * job already, which then stays reserved until its `reserve_for` ends.
   *
   * @example
   * ```ts ignore
   * client.destroy();
   * ```
   */
  destroy(): void {
    this.#link.destroy();
  }

  /** Same as {@linkcode Client.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send(command: Uint8Array, verb: string, timeout = this.#options.commandTimeout) {
    return this.#link.send(command, verb, timeout);
  }

  // ---- MUTATE: the retry, scheduled and dead sets ---------------------------
  // The sets are shared by every namespace: a namespace does not narrow them.

  /**
   * Moves the jobs of a set that match `filter` (see {@linkcode JobFilter};
   * `{ pattern: "*" }` matches every job) back to their queues, to run now.
   *
   * @example
   * ```ts ignore
   * await client.requeue("dead", { jobtype: "SendEmail" });
   * await client.requeue("retries", { jids: [jid] });
   * ```
   */
  requeue(set: JobSet, filter: JobFilter): Promise<void> {
    return mutate(this, "requeue", set, filter);
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
  discard(set: JobSet, filter: JobFilter): Promise<void> {
    return mutate(this, "discard", set, filter);
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
  kill(set: "retries" | "scheduled", filter: JobFilter): Promise<void> {
    return mutate(this, "kill", set, filter);
  }

  /**
   * Deletes every job of a set.
   *
   * @example
   * ```ts ignore
   * await client.clear("dead");
   * ```
   */
  clear(set: JobSet): Promise<void> {
    return mutate(this, "clear", set);
  }

  // ---- QUEUE -----------------------------------------------------------------
  // "*" means every queue of this client's namespace (without one, every queue).

  /**
   * Pauses queues (or `"*"`): FETCH skips them and their jobs wait until they
   * are resumed. The server ignores a queue it has never seen a job for.
   *
   * @example
   * ```ts ignore
   * await client.pauseQueues(["mail", "reports"]);
   * ```
   */
  pauseQueues(queues: readonly string[] | "*"): Promise<void> {
    return queue.command(this, "PAUSE", queues, "pauseQueues");
  }

  /**
   * Resumes paused queues (or `"*"`).
   *
   * @example
   * ```ts ignore
   * await client.resumeQueues(["mail", "reports"]);
   * ```
   */
  resumeQueues(queues: readonly string[] | "*"): Promise<void> {
    return queue.command(this, "RESUME", queues, "resumeQueues");
  }

  /**
   * Deletes queues (or `"*"`) and every job waiting in them.
   *
   * @example
   * ```ts ignore
   * await client.removeQueues(["obsolete"]);
   * ```
   */
  removeQueues(queues: readonly string[] | "*"): Promise<void> {
    return queue.command(this, "REMOVE", queues, "removeQueues");
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
  queueLatency(queues: readonly string[]): Promise<Record<string, number>> {
    return queue.latency(this, queues);
  }

  // ---- Faktory Enterprise: batches and tracking -------------------------------

  /**
   * Creates a batch (Faktory Enterprise) and resolves with its id: see
   * {@linkcode BatchOptions} for how batches work. On the open-source
   * server, rejects with `EnterpriseRequiredError`.
   *
   * @example
   * ```ts ignore
   * const bid = await client.newBatch({ success: buildPayload({ jobtype: "ImportDone" }, [42]) });
   * await producer.perform({ jobtype: "ImportRow", batchId: bid }, [42, 1]);
   * await client.commitBatch(bid);
   * ```
   */
  newBatch(options: BatchOptions): Promise<string> {
    return ent.newBatch(this, options);
  }

  /**
   * Reopens a committed batch (Faktory Enterprise) to add jobs; commit it again afterwards.
   *
   * @example
   * ```ts ignore
   * await client.openBatch(job.batchId!);
   * ```
   */
  openBatch(bid: string): Promise<void> {
    return ent.openBatch(this, bid);
  }

  /**
   * Commits a batch (Faktory Enterprise): its callbacks may fire once its jobs have run.
   *
   * @example
   * ```ts ignore
   * await client.commitBatch(bid);
   * ```
   */
  commitBatch(bid: string): Promise<void> {
    return ent.commitBatch(this, bid);
  }

  /**
   * A batch's progress (Faktory Enterprise): job counts and callback states.
   *
   * @example
   * ```ts ignore
   * const { total, pending, failed } = await client.batchStatus(bid);
   * ```
   */
  batchStatus(bid: string): Promise<BatchStatus> {
    return ent.batchStatus(this, bid);
  }

  /**
   * A tracked job's state and progress (Faktory Enterprise). Push the job
   * with the `tracked: true` option; others read as state `unknown`.
   *
   * @example
   * ```ts ignore
   * const { state, percent } = await client.getTracking(jid);
   * ```
   */
  getTracking(jid: string): Promise<JobTracking> {
    return ent.getTracking(this, jid);
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
  setTracking(update: TrackingUpdate): Promise<void> {
    return ent.setTracking(this, update);
  }
}

function nothing(): void {}

/**
 * The Faktory client: one connection, every command of the open-source
 * server, typed.
 *
 * @module
 */

import { Connection } from "./connection.ts";
import { ConnectionError, ProtocolError, ValidationError } from "./errors.ts";
import { describeFailure } from "./failure.ts";
import type { ServerInfo } from "./info.ts";
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
  #opening: Promise<Connection> | undefined;
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
  async fetch(queues: readonly string[]): Promise<JobPayload | null> {
    const ns = this.#options.namespace;
    const command = cmd.fetch(queues.map((q) => namespaced(ns, cmd.validateQueue(q))));
    const reply = await this.#send(command, "FETCH", this.#options.commandTimeout + FETCH_BLOCK_MS);
    const job = parseJson(reply, "FETCH") as JobPayload | null;
    if (job !== null && ns !== undefined && job.queue?.startsWith(ns)) {
      job.queue = job.queue.slice(ns.length);
    }
    return job;
  }

  /**
   * Reports a job as done.
   *
   * @example
   * ```ts ignore
   * await client.ack(job.jid);
   * ```
   */
  async ack(jid: string): Promise<void> {
    await this.#send(cmd.withJson("ACK", { jid: cmd.validateWord(jid, "jid") }), "ACK");
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
    await this.#opening?.catch(() => {});
    await this.#connection?.close();
  }

  /** Same as {@linkcode Client.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #prepare(job: JobPayload): JobPayload {
    validatePayload(job);
    const ns = this.#options.namespace;
    // Always send retry: Faktory 1.9.4's PUSH decodes a job's retry through a
    // pointer to its global default, so one push with an explicit retry
    // (say -1) silently becomes the default for every later job without one.
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

  /** The open connection, or a new one when there is none or it was lost. */
  #connect(signal: AbortSignal | undefined): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ConnectionError("The client is closed"));
    if (this.#connection?.isOpen) return Promise.resolve(this.#connection);
    const o = this.#options;
    this.#opening ??= Connection.open({
      runtime: o.runtime,
      hostname: o.hostname,
      port: o.port,
      tls: o.tls,
      password: o.password,
      hello: o.hello,
      connectTimeout: o.connectTimeout,
      logger: o.logger,
      signal,
    }).then((connection) => {
      this.#connection = connection;
      if (this.#closed) void connection.close();
      return connection;
    }).finally(() => (this.#opening = undefined));
    return this.#opening;
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

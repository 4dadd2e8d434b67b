/**
 * A connection that comes back: the open {@linkcode Connection}, the attempt
 * under way, and the backoff between failed attempts. A `Client` sends every
 * command through one.
 *
 * @module
 */

import { backoffDelay, sleep } from "./backoff.ts";
import type { ClientConfig } from "./client_options.ts";
import { Connection } from "./connection.ts";
import { ConnectionError } from "./errors.ts";
import { runtimeOf } from "./runtime/default.ts";

/**
 * Sends commands on its connection, and connects again on the next command
 * when that one is lost. Concurrent callers share one attempt.
 */
export class Reconnecting {
  readonly #options: ClientConfig;
  #connection: Connection | undefined;
  #opening: Promise<Connection> | undefined;
  /** Aborts the connect under way, or its backoff wait, when the client closes. */
  #attempt: AbortController | undefined;
  /** Failed connects in a row, and when the next attempt may start. */
  #failures = 0;
  #retryAt = 0;
  #closed = false;

  constructor(options: ClientConfig) {
    this.#options = options;
  }

  /** Sends an encoded command, connecting first if needed; resolves with the reply. */
  send(command: Uint8Array, verb: string, timeout: number): Promise<string | null> {
    const connection = this.#connection;
    if (connection?.isOpen) return connection.send(command, verb, timeout);
    return this.connect(undefined).then((c) => c.send(command, verb, timeout));
  }

  /**
   * The open connection, or a new one when there is none or it was lost.
   * Concurrent callers share one attempt.
   */
  connect(signal: AbortSignal | undefined): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ConnectionError("The client is closed"));
    if (this.#connection?.isOpen) return Promise.resolve(this.#connection);
    this.#opening ??= this.#open(signal).finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  /** Ends the attempt under way, lets commands already sent finish, and closes. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#attempt?.abort(new ConnectionError("The client is closed"));
    await this.#opening?.catch(() => {});
    await this.#connection?.close();
  }

  /** Ends the attempt under way and closes at once: commands still waiting reject. */
  destroy(): void {
    this.#closed = true;
    const error = new ConnectionError("The client is closed");
    this.#attempt?.abort(error);
    this.#connection?.destroy(error);
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
      const runtime = await runtimeOf(o.runtime);
      const connection = await Connection.open({
        runtime,
        hostname: o.hostname,
        port: o.port,
        tls: o.tls,
        password: o.password,
        hello: { ...o.hello, hostname: runtime.hostname(), pid: runtime.pid() },
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
    const delay = backoffDelay(this.#failures++, this.#options.backoff);
    this.#retryAt = Date.now() + delay;
  }
}

/**
 * One connection to a Faktory server: the handshake, then commands written
 * back to back (pipelined) with replies matched in order, each with a
 * timeout. Nothing here knows which runtime it runs on.
 *
 * @module
 */

import {
  AuthenticationError,
  ConnectionError,
  FaktoryError,
  ProtocolError,
  serverError,
  TimeoutError,
} from "./errors.ts";
import type { Logger } from "./logger.ts";
import { withJson } from "./protocol/command.ts";
import { hello, type HelloFields, parseHi, PROTOCOL_VERSION } from "./protocol/handshake.ts";
import { ErrorReply, MAX_BULK, MAX_LINE, type Reply, ReplyReader } from "./protocol/reply.ts";
import { KeyedSlots } from "./slots.ts";
import type { Runtime, Socket, TlsOptions } from "./runtime/types.ts";

/** Everything needed to open a connection. */
export interface ConnectionConfig {
  readonly runtime: Runtime;
  readonly hostname: string;
  readonly port: number;
  readonly tls?: TlsOptions | undefined;
  readonly password?: string | undefined;
  readonly hello: HelloFields;
  /** Bound on connect plus handshake, in ms. */
  readonly connectTimeout: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

interface Pending {
  resolve(reply: string | null): void;
  reject(error: Error): void;
  readonly verb: string;
  readonly timeout: number;
}

const END = new TextEncoder().encode("END\r\n");
/** How often the reply deadline of the oldest command is checked. */
const WATCHDOG_MS = 100;
/** How long `close` waits for END to be written before it closes anyway. */
const END_WRITE_MS = 1_000;

/**
 * Password hashing through Web Crypto takes 0.1-0.8 s per handshake, and many
 * at once slow each other down past the server's 2 s HELLO deadline.
 * Handshakes that need a hash therefore take a slot first, before connecting,
 * so the server's clock starts only when hashing can. The slots are per
 * server: a slow or hostile server holds only its own, never those of
 * another; and a wait ends with its connect's deadline or signal.
 */
const hashSlots = new KeyedSlots(4);

/**
 * A handshaken connection. Commands are encoded by the caller; `send` writes
 * them in call order and resolves with the reply, so concurrent callers
 * never interleave. Any failure (lost socket, garbage, a timeout) closes the
 * connection and rejects every command still waiting.
 *
 * Dead peers: every command has a reply deadline, so a command sent on a
 * half-open connection (the server vanished without a FIN or RST) fails with
 * `TimeoutError` within its timeout and the connection is closed. That is
 * the detection relied on. TCP keepalive (set by the socket adapters) only
 * keeps NAT and firewall entries alive and eventually reaps an idle dead
 * socket: its probes take minutes (Deno cannot even set the idle time), so
 * an idle connection is not probed otherwise; its next command finds out.
 */
export class Connection {
  readonly #socket: Socket;
  readonly #where: string;
  readonly #reader: ReplyReader;
  #pending: Pending[] = [];
  #head = 0;
  #headDeadline = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #outbox: Uint8Array[] = [];
  #writing = false;
  #error: Error | undefined;
  #closing = false;
  #answered = false;
  #onDrained: (() => void) | undefined;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket, where: string, reader: ReplyReader) {
    this.#socket = socket;
    this.#where = where;
    this.#reader = reader;
    this.#closed = socket.closed.then(() =>
      this.#fail(new ConnectionError(`Faktory at ${where} closed the connection`))
    );
  }

  /** `host:port` of the server, for messages. */
  get where(): string {
    return this.#where;
  }

  /** Whether commands can still be sent. */
  get isOpen(): boolean {
    return this.#error === undefined && !this.#closing;
  }

  /** Resolves once the connection is closed, whatever the reason. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Whether any reply arrived. A connection lost before its first reply
   * counts as a failed connect for the reconnect backoff.
   */
  get answered(): boolean {
    return this.#answered;
  }

  /**
   * Connects, reads `+HI`, answers with HELLO, and checks the `+OK`, all
   * within `connectTimeout` (the wait for a hashing slot and the hashing
   * included) unless `signal` aborts first.
   */
  static async open(config: ConnectionConfig): Promise<Connection> {
    const where = `${config.hostname}:${config.port}`;
    const started = Date.now();
    const timeout = AbortSignal.timeout(config.connectTimeout);
    const signal = config.signal ? AbortSignal.any([config.signal, timeout]) : timeout;
    let release: (() => void) | undefined;
    let socket: Socket | undefined;
    let handshake: ReturnType<typeof handshakeReader> | undefined;
    let stage = "waiting for other password handshakes with this server";
    const reader = new ReplyReader();
    reader.maxBulk = MAX_LINE; // a greeting or HELLO reply is one short line
    try {
      if (config.password !== undefined) release = await hashSlots.take(where, signal);
      stage = "connecting";
      socket = await config.runtime.connect({
        hostname: config.hostname,
        port: config.port,
        tls: config.tls,
        signal,
      });
      // A lost connection fails with the stage's hint, not the socket's bare error.
      const lost = (cause: unknown) => closedDuring(where, stage, cause);
      handshake = handshakeReader(socket, reader, signal, lost);
      stage = "waiting for the greeting";
      const greeting = await handshake.read();
      if (greeting === undefined) throw closedDuring(where, stage);
      const hi = parseHi(expectString(greeting, "greeting"));
      if (hi.v > PROTOCOL_VERSION) {
        config.logger.warn(
          `Faktory at ${where} speaks protocol ${hi.v}; this library knows ${PROTOCOL_VERSION}`,
        );
      }
      if (hi.i !== undefined && config.password === undefined) {
        throw new AuthenticationError(
          `Faktory at ${where} requires a password: give it in the URL as tcp://:PASSWORD@${where}`,
        );
      }
      stage = "hashing the password";
      const payload = await hello(hi, config.hello, config.password, signal);
      release?.();
      release = undefined;
      stage = "waiting for the HELLO reply";
      await socket.write(withJson("HELLO", payload)).catch((cause) => {
        throw closedDuring(where, "sending HELLO", cause);
      });
      const reply = await handshake.read();
      if (reply === undefined) throw closedDuring(where, stage);
      if (reply instanceof ErrorReply) {
        if (/password/i.test(reply.line)) {
          throw new AuthenticationError(
            `Faktory at ${where} refused the password: check the password in the URL`,
          );
        }
        throw serverError(reply.line);
      }
      // A server says nothing more until asked: bytes after the +OK are garbage.
      if (reply !== "OK" || reader.buffered > 0) throw new ProtocolError("Unexpected HELLO reply");
      reader.maxBulk = MAX_BULK;
      const connection = new Connection(socket, where, reader);
      void connection.#readLoop();
      return connection;
    } catch (e) {
      socket?.close();
      if (signal.aborted) {
        throw abortError(signal.reason, timeout, where, config.connectTimeout, started, stage);
      }
      if (e instanceof ProtocolError) {
        throw new ProtocolError(`${e.message} (from ${where})`, { cause: e });
      }
      if (e instanceof FaktoryError) throw e;
      throw new ConnectionError(`Handshake with Faktory at ${where} failed`, { cause: e });
    } finally {
      handshake?.done();
      release?.();
    }
  }

  /**
   * Sends one encoded command and resolves with its reply (a string, or null
   * for `$-1`). An error reply rejects with `ServerError`; no reply within
   * `timeout` ms closes the connection and rejects with `TimeoutError`.
   */
  send(command: Uint8Array, verb: string, timeout: number): Promise<string | null> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closing) {
      return Promise.reject(new ConnectionError(`The connection to ${this.#where} is closing`));
    }
    return new Promise((resolve, reject) => {
      if (this.#head === this.#pending.length) {
        this.#headDeadline = Date.now() + timeout;
        this.#watchdog ??= setInterval(() => this.#checkDeadline(), WATCHDOG_MS);
      }
      this.#pending.push({ resolve, reject, verb, timeout });
      this.#write(command);
    });
  }

  /**
   * Lets the commands already sent get their replies (within their
   * timeouts), sends END and closes. Safe to call more than once.
   */
  async close(): Promise<void> {
    if (this.#error === undefined && !this.#closing) {
      this.#closing = true;
      if (this.#head < this.#pending.length) {
        await new Promise<void>((resolve) => (this.#onDrained = resolve));
      }
      if (this.#error === undefined) {
        this.#write(END);
        // A peer that stopped reading could hold the write forever.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const giveUp = new Promise<void>((r) => (timer = setTimeout(r, END_WRITE_MS)));
        await Promise.race([this.#flushed(), this.#closed, giveUp]);
        clearTimeout(timer);
      }
      this.#fail(new ConnectionError(`The connection to ${this.#where} is closed`));
    }
    await this.#closed;
  }

  /** Closes at once, rejecting whatever is waiting with `error`. */
  destroy(error: Error = new ConnectionError(`The connection to ${this.#where} was closed`)): void {
    this.#fail(error);
  }

  #write(bytes: Uint8Array): void {
    this.#outbox.push(bytes);
    if (!this.#writing) {
      this.#writing = true;
      // Commands sent in the same tick go out in one write.
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#outbox.length > 0 && this.#error === undefined) {
        const parts = this.#outbox;
        this.#outbox = [];
        await this.#socket.write(parts.length === 1 ? parts[0]! : concat(parts));
      }
    } catch (e) {
      this.#fail(asConnectionError(e, `Writing to ${this.#where} failed`));
    } finally {
      this.#writing = false;
    }
  }

  async #flushed(): Promise<void> {
    while (this.#writing) await new Promise((r) => setTimeout(r, 1));
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.#socket.read();
        if (chunk === null) break;
        this.#reader.feed(chunk);
        for (let reply = this.#reader.next(); reply !== undefined; reply = this.#reader.next()) {
          this.#settle(reply);
        }
      }
      this.#fail(new ConnectionError(`Faktory at ${this.#where} closed the connection`));
    } catch (e) {
      this.#fail(
        e instanceof ProtocolError
          ? new ProtocolError(`${e.message} from ${this.#where}; the connection was closed`, {
            cause: e,
          })
          : asConnectionError(e, `Reading from ${this.#where} failed`),
      );
    }
  }

  #settle(reply: Reply): void {
    const pending = this.#pending[this.#head];
    if (pending === undefined) {
      throw new ProtocolError("Reply without a command");
    }
    this.#pending[this.#head++] = undefined as unknown as Pending;
    this.#answered = true;
    if (this.#head === this.#pending.length) {
      // Emptied in place, and the watchdog keeps running (it stops itself
      // after a tick with nothing pending): one command at a time would
      // otherwise allocate an array and a timer per command.
      this.#pending.length = 0;
      this.#head = 0;
      this.#onDrained?.();
    } else {
      this.#headDeadline = Date.now() + this.#pending[this.#head]!.timeout;
      if (this.#head > 1024) {
        this.#pending = this.#pending.slice(this.#head);
        this.#head = 0;
      }
    }
    if (reply instanceof ErrorReply) pending.reject(serverError(reply.line));
    else pending.resolve(reply);
  }

  #checkDeadline(): void {
    const pending = this.#pending[this.#head];
    if (pending === undefined) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
    } else if (Date.now() > this.#headDeadline) {
      this.#fail(
        new TimeoutError(
          `${pending.verb} got no reply from ${this.#where} within ${pending.timeout} ms; the connection was closed`,
        ),
      );
    }
  }

  #fail(error: Error): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    this.#socket.close();
    const pending = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    for (const p of pending) p.reject(error);
    this.#onDrained?.();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Reads whole replies during the handshake, before the read loop runs; an
 * abort closes the socket so a pending read ends at once. A failed read
 * rejects with `lost(cause)`.
 */
function handshakeReader(
  socket: Socket,
  reader: ReplyReader,
  signal: AbortSignal,
  lost: (cause: unknown) => Error,
) {
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      socket.close();
      reject(signal.reason);
    };
  });
  aborted.catch(() => {});
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    /** The next whole reply; `undefined` once the peer closed. */
    async read(): Promise<Reply | undefined> {
      for (;;) {
        const reply = reader.next();
        if (reply !== undefined) return reply;
        const read = socket.read().catch((cause) => {
          throw lost(cause);
        });
        const chunk = await Promise.race([read, aborted]);
        if (chunk === null) return undefined;
        reader.feed(chunk);
      }
    },
    done: () => signal.removeEventListener("abort", onAbort),
  };
}

function expectString(reply: Reply, what: string): string {
  if (typeof reply === "string") return reply;
  if (reply instanceof ErrorReply) throw serverError(reply.line);
  throw new ProtocolError(`Unexpected ${what}`);
}

/** The error for a connection closed, or lost (`cause`), during the handshake. */
function closedDuring(where: string, stage: string, cause?: unknown): ConnectionError {
  const hint = stage === "waiting for the greeting"
    ? ": it may be restarting or overloaded; if it uses TLS, use a tcp+tls:// URL"
    : ": the server drops a client whose HELLO takes over 2 s";
  return new ConnectionError(
    `Faktory at ${where} closed the connection while ${stage}${hint}`,
    cause === undefined ? undefined : { cause },
  );
}

function asConnectionError(e: unknown, message: string): Error {
  if (e instanceof ConnectionError) return e;
  return new ConnectionError(message, { cause: e });
}

function abortError(
  reason: unknown,
  timeout: AbortSignal,
  where: string,
  ms: number,
  started: number,
  stage: string,
): Error {
  if (timeout.aborted) {
    const hint = stage === "waiting for the greeting"
      ? ": is this a Faktory server, and does it expect TLS (tcp+tls://)?"
      : stage === "connecting"
      ? ": is Faktory running there and reachable?"
      : "";
    return new TimeoutError(
      `Connecting to Faktory at ${where} timed out after ${
        Date.now() - started
      } ms (connectTimeout ${ms} ms) while ${stage}${hint}`,
      { cause: reason },
    );
  }
  if (reason instanceof FaktoryError) return reason;
  return new ConnectionError(`Connecting to Faktory at ${where} was aborted while ${stage}`, {
    cause: reason,
  });
}

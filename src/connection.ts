/**
 * One connection to a Faktory server: once handshaken (connect.ts), commands
 * written back to back (pipelined) with replies matched in order, each with a
 * timeout. Nothing here knows which runtime it runs on.
 *
 * @module
 */

import { type ConnectionConfig, handshake, refusedBy, refusesConnection } from "./connect.ts";
import { ConnectionError, ProtocolError, serverError, TimeoutError } from "./errors.ts";
import { ErrorReply, type Reply, type ReplyReader } from "./protocol/reply.ts";
import type { Socket } from "./runtime/types.ts";

export type { ConnectionConfig };

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
   * included) unless `signal` aborts first (see connect.ts).
   */
  static async open(config: ConnectionConfig): Promise<Connection> {
    const { socket, where, reader } = await handshake(config);
    const connection = new Connection(socket, where, reader);
    void connection.#readLoop();
    return connection;
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
      queueMicrotask(this.#flush);
    }
  }

  // Bound once: a write per command would otherwise allocate closures and an async frame.
  readonly #flush = (): void => {
    if (this.#outbox.length === 0 || this.#error !== undefined) {
      this.#writing = false;
      return;
    }
    const parts = this.#outbox;
    this.#outbox = [];
    let written: Promise<void>;
    try {
      written = this.#socket.write(parts.length === 1 ? parts[0]! : concat(parts));
    } catch (e) {
      written = Promise.reject(e);
    }
    written.then(this.#flush, this.#writeFailed);
  };

  readonly #writeFailed = (e: unknown): void => {
    this.#writing = false;
    this.#fail(asConnectionError(e, `Writing to ${this.#where} failed`));
  };

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
    // An error sent unasked refuses the connection: no command waiting ran.
    if (
      reply instanceof ErrorReply && (pending === undefined || refusesConnection(reply.line))
    ) {
      throw refusedBy(this.#where, reply.line);
    }
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

function asConnectionError(e: unknown, message: string): Error {
  if (e instanceof ConnectionError) return e;
  return new ConnectionError(message, { cause: e });
}

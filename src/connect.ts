/**
 * Opening a connection: connecting, the greeting, the password hash and
 * HELLO, all bounded by `connectTimeout` and the caller's signal. A failure
 * at any stage closes the socket and says which stage it was.
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

/**
 * Password hashing through Web Crypto takes 10-200 ms per handshake (one
 * awaited digest per iteration), and many at once slow each other down past
 * the server's 2 s HELLO deadline. Handshakes that need a hash therefore
 * take a slot first, before connecting, so the server's clock starts only
 * when hashing can. The slots are per server: a slow or hostile server
 * holds only its own, never those of another; and a wait ends with its
 * connect's deadline or signal.
 */
const hashSlots = new KeyedSlots(hashConcurrency(globalThis));

/**
 * How many chains to hash at once, by what runs the digests (not the
 * `Runtime` adapter: a custom one hashes with its host's Web Crypto). Node
 * and Deno hop to a thread pool for each digest: idle, several chains at
 * once finish a batch up to 30 % sooner but make each chain 1.4-4x slower
 * (build/hash_conc.mjs), and under CPU load that is what misses the HELLO
 * deadline (build/deadline.mjs, 20 connects at once beside 4 busy
 * processes on 2 cores, 3 rounds: Deno 1/2/4 slots lost 1/4/54 of 120,
 * Node 1/4 slots 1/7). Bun hashes a chain in ~10 ms and lost none with 1,
 * 2 or 4: four overlap the network round trips of the handshakes they hold.
 */
export function hashConcurrency(global: object): number {
  const g = global as {
    Bun?: unknown;
    Deno?: unknown;
    navigator?: { userAgent?: string };
    process?: { versions?: { node?: string } };
  };
  // workerd with nodejs_compat has a `process` too.
  if (g.Bun !== undefined || g.navigator?.userAgent === "Cloudflare-Workers") return 4;
  return 1; // Deno, Node
}

/** A handshaken socket, and the reader that holds what came after the `+OK`. */
export interface Handshaken {
  readonly socket: Socket;
  /** `host:port` of the server, for messages. */
  readonly where: string;
  readonly reader: ReplyReader;
}

/**
 * The server drops a client whose HELLO has not come 2 s after it accepted
 * it. A hash still running this long after we began to connect (a loaded machine)
 * is given up, and the handshake starts over on a fresh connection, with a
 * fresh salt and iteration count, while `connectTimeout` allows.
 */
const HELLO_DEADLINE_MS = 1_900;

/** A hash given up at the server's HELLO deadline: the handshake starts over. */
class MissedDeadline extends Error {}

/**
 * Connects, reads `+HI`, answers with HELLO, and checks the `+OK`, all
 * within `connectTimeout` (the wait for a hashing slot and the hashing
 * included) unless `signal` aborts first.
 */
export async function handshake(config: ConnectionConfig): Promise<Handshaken> {
  const started = performance.now(); // fine-grained: Bun's Date.now lagged by up to 4 ms
  const timeout = AbortSignal.timeout(config.connectTimeout);
  const signal = config.signal ? AbortSignal.any([config.signal, timeout]) : timeout;
  for (;;) {
    try {
      return await attempt(config, signal, timeout, started);
    } catch (e) {
      if (!(e instanceof MissedDeadline)) throw e;
      config.logger.debug(`${e.message}; connecting again`);
    }
  }
}

async function attempt(
  config: ConnectionConfig,
  signal: AbortSignal,
  timeout: AbortSignal,
  started: number,
): Promise<Handshaken> {
  const where = `${config.hostname}:${config.port}`;
  let release: (() => void) | undefined;
  let socket: Socket | undefined;
  let handshake: ReturnType<typeof handshakeReader> | undefined;
  let stage = "waiting for other password handshakes with this server";
  const reader = new ReplyReader();
  reader.maxBulk = MAX_LINE; // a greeting or HELLO reply is one short line
  try {
    if (config.password !== undefined) release = await hashSlots.take(where, signal);
    stage = "connecting";
    // The server's clock starts when it accepts, before this process may
    // get to see the connection (a busy event loop, a TLS handshake): ours
    // starts before connecting, so it never thinks it has more time left.
    const connecting = performance.now();
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
    // Whole milliseconds: Node's AbortSignal.timeout refuses fractions.
    const left = Math.max(0, Math.floor(HELLO_DEADLINE_MS - (performance.now() - connecting)));
    const deadline = hi.i === undefined ? undefined : AbortSignal.timeout(left);
    const hashing = deadline ? AbortSignal.any([signal, deadline]) : signal;
    const payload = await hello(hi, config.hello, config.password, hashing).catch((e) => {
      if (!signal.aborted && deadline?.aborted) {
        throw new MissedDeadline(`Hashing for Faktory at ${where} missed its HELLO deadline`);
      }
      throw e;
    });
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
    // A server says nothing more until asked, but for refusing the connection
    // after all: other bytes after the +OK are garbage.
    let next: Reply | undefined;
    try {
      if (reply === "OK" && reader.buffered > 0) next = reader.next();
    } catch { /* garbage: refused below */ }
    if (next instanceof ErrorReply) throw refusedBy(where, next.line);
    if (reply !== "OK" || reader.buffered > 0) throw new ProtocolError("Unexpected HELLO reply");
    reader.maxBulk = MAX_BULK;
    return { socket, where, reader };
  } catch (e) {
    socket?.close();
    if (e instanceof MissedDeadline) throw e;
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

/**
 * Whether an error reply refuses the connection rather than answering a
 * command: Faktory says HELLO's `+OK` to a connection over its limit (2000),
 * then `-ERR too many connections: N` unasked, and closes it.
 */
export function refusesConnection(line: string): boolean {
  return line.startsWith("ERR too many connections");
}

/** The error for an error reply the server sent unasked, `line`: the connection was refused. */
export function refusedBy(where: string, line: string): ConnectionError {
  const said = line.replace(/^ERR /, "");
  const hint = refusesConnection(line) ? ": close idle clients, or share connections" : "";
  return new ConnectionError(`Faktory at ${where} refused the connection: ${said}${hint}`);
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
    // The timer's clock can run a little ahead of ours: never say less
    // time passed than the timeout that fired.
    const elapsed = Math.max(ms, Math.round(performance.now() - started));
    return new TimeoutError(
      `Connecting to Faktory at ${where} timed out after ${elapsed} ms (connectTimeout ${ms} ms) while ${stage}${hint}`,
      { cause: reason },
    );
  }
  if (reason instanceof FaktoryError) return reason;
  return new ConnectionError(`Connecting to Faktory at ${where} was aborted while ${stage}`, {
    cause: reason,
  });
}

/**
 * The Cloudflare Workers adapter, built on `connect()` from
 * `cloudflare:sockets` (workerd). Its socket is a pair of WHATWG streams:
 * reads are pulled from the readable side, so an unread socket is not read
 * from the network, and each write resolves once workerd has written it.
 *
 * @module
 */

import { connect as openSocket } from "cloudflare:sockets";
import { env as workerEnv } from "cloudflare:workers";
import { ConnectionError, ValidationError } from "../errors.ts";
import { address, connectAborted, connectionClosed, connectionLost } from "./errors.ts";
import type { ConnectOptions, Runtime, Socket } from "./types.ts";

/** The parts of a `cloudflare:sockets` socket used here (declared locally: no workers-types). */
interface WorkersSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves once connected (and, with TLS, once the handshake is done). */
  readonly opened: Promise<unknown>;
  /** Resolves when the socket closes; rejects when it fails, or could not connect. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

type Connect = (
  address: { hostname: string; port: number },
  options: { secureTransport: "off" | "on"; allowHalfOpen: boolean },
) => WorkersSocket;

async function connect({ hostname, port, tls, signal }: ConnectOptions): Promise<Socket> {
  if (tls?.caCerts?.length) {
    throw new ValidationError(
      "Cloudflare Workers cannot trust extra CA certificates: remove tls.caCerts and give " +
        "Faktory a certificate from a public CA",
    );
  }
  if (tls?.cert !== undefined) {
    throw new ValidationError(
      "connect() from cloudflare:sockets cannot present a client certificate: remove " +
        "tls.cert and tls.key",
    );
  }
  if (tls?.serverName !== undefined && tls.serverName !== hostname) {
    throw new ValidationError(
      `Cloudflare Workers verify the certificate against the host connected to: remove ` +
        `tls.serverName ${JSON.stringify(tls.serverName)} or connect to that name`,
    );
  }
  if (signal?.aborted) throw connectAborted(hostname, port, signal);
  let socket: WorkersSocket;
  try {
    const secureTransport = tls === undefined ? "off" : "on";
    socket = (openSocket as Connect)({ hostname, port }, { secureTransport, allowHalfOpen: false });
  } catch (cause) {
    throw failed(hostname, port, tls !== undefined, cause); // e.g. a host name workerd refuses
  }
  // A failed connect also rejects `closed`: handled here, reported through `opened`.
  socket.closed.catch(() => {});
  // workerd's connect takes no signal: give up on abort and close the socket.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(connectAborted(hostname, port, signal as AbortSignal));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([socket.opened, aborted]);
  } catch (cause) {
    void socket.close().catch(() => {});
    throw cause instanceof ConnectionError
      ? cause
      : failed(hostname, port, tls !== undefined, cause);
  } finally {
    signal?.removeEventListener("abort", onAbort as () => void);
  }
  return new WorkersSocketAdapter(socket, hostname, port);
}

/**
 * workerd says only "proxy request failed, cannot connect to the specified
 * address" whether the port is closed, the name unknown, the address not
 * allowed or the TLS handshake refused; the hint lists what to check.
 */
function failed(hostname: string, port: number, tls: boolean, cause: unknown): ConnectionError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ConnectionError(
    `Could not connect to ${address(hostname, port)} (${why}): is Faktory running there` +
      (tls ? ", speaking TLS with a certificate from a public CA," : "") +
      " and reachable from the Worker? (Workers reach public addresses only; a local workerd " +
      "needs a globalOutbound network that allows private or local ones)",
    { cause },
  );
}

class WorkersSocketAdapter implements Socket {
  readonly closed: Promise<void>;
  readonly #socket: WorkersSocket;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #hostname: string;
  readonly #port: number;
  #isClosed = false;
  #error: ConnectionError | undefined;
  #resolveClosed!: () => void;
  /** Rejects the writes under way: workerd closes the socket but leaves a write waiting for room pending. */
  readonly #writing = new Set<(error: ConnectionError) => void>();

  constructor(socket: WorkersSocket, hostname: string, port: number) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
    this.#hostname = hostname;
    this.#port = port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // A failure with no read or write under way still closes the socket.
    socket.closed.catch((cause) => void this.#fail(cause));
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#isClosed) {
        if (this.#error) throw this.#error;
        return null;
      }
      let chunk: Uint8Array | undefined; // undefined once the stream is done
      try {
        ({ value: chunk } = await this.#reader.read());
      } catch (cause) {
        if (this.#isClosed) continue; // closed meanwhile: null, or the error that closed it
        throw this.#fail(cause);
      }
      if (this.#isClosed) continue;
      if (chunk === undefined) {
        this.close(); // the peer is done: close our side too, as the other adapters do
        return null;
      }
      if (chunk.length > 0) return chunk;
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#isClosed) {
      return Promise.reject(this.#error ?? connectionClosed(this.#hostname, this.#port));
    }
    return new Promise((resolve, reject) => {
      this.#writing.add(reject);
      this.#writer.write(bytes).then(resolve, (cause) => {
        reject(
          this.#isClosed
            ? this.#error ?? connectionClosed(this.#hostname, this.#port)
            : this.#fail(cause),
        );
      }).finally(() => this.#writing.delete(reject));
    });
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    // Cancels the readable side (a pending read ends) and aborts the writable one.
    void this.#socket.close().catch(() => {});
    const error = this.#error ?? connectionClosed(this.#hostname, this.#port);
    for (const reject of this.#writing) reject(error);
    this.#writing.clear();
    this.#resolveClosed();
  }

  /** Closes after an I/O error; later reads and writes get the same error. */
  #fail(cause: unknown): ConnectionError {
    if (this.#isClosed) return this.#error ?? connectionClosed(this.#hostname, this.#port);
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#error = /different request/.test(message)
      ? new ConnectionError(
        `The connection to ${address(this.#hostname, this.#port)} was opened while handling ` +
          "another request, and a Worker cannot use it in this one: connect in each request",
        { cause },
      )
      : connectionLost(this.#hostname, this.#port, cause);
    this.close();
    return this.#error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

/**
 * The adapter for Cloudflare Workers (workerd): TCP and TLS through
 * `connect()` from `cloudflare:sockets`. The default of the
 * `@faktory-ts/faktory/cloudflare` entry point. At the edge:
 *
 * - `env` reads the Worker's bindings (vars and secrets, through `env` of
 *   `cloudflare:workers`): `FAKTORY_URL` can be a secret;
 * - TLS verifies the server against the public CAs Cloudflare trusts and
 *   the host name connected to: `tls.caCerts` and another `tls.serverName`
 *   are refused with `ValidationError` (`startTls` would take a name, but
 *   Cloudflare refuses it), and so is a client certificate (`tls.cert`);
 * - there is no host name, process id, memory figure or signal: HELLO says
 *   `cloudflare-worker` and pid 0, `rssKb` is `undefined`, `onSignal` does nothing.
 *
 * @example
 * ```ts ignore
 * import { cloudflareRuntime, Producer } from "@faktory-ts/faktory/cloudflare";
 * await using producer = await Producer.connect({ runtime: cloudflareRuntime, poolSize: 1 });
 * ```
 */
export const cloudflareRuntime: Runtime = {
  name: "cloudflare",
  connect,
  env(name) {
    const value = (workerEnv as Record<string, unknown> | undefined)?.[name];
    return typeof value === "string" ? value : undefined;
  },
  hostname: () => "cloudflare-worker",
  pid: () => 0,
  rssKb: () => undefined,
  onSignal: () => () => {},
};

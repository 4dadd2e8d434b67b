/**
 * The Deno adapter: plain TCP on `Deno.connect`, TLS through the Node
 * adapter on Deno's `node:tls`. `Deno` is reached through a locally declared
 * shape on `globalThis`, so tsc (which has no Deno types) compiles this
 * module for the npm build too.
 *
 * @module
 */

import type { ConnectionError } from "../errors.ts";
import { connectAborted, connectFailed, connectionClosed, connectionLost } from "./errors.ts";
import type { ConnectOptions, ProcessSignal, Runtime, Socket } from "./types.ts";

/** The parts of `Deno.Conn` used here. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

interface DenoTcpConn extends DenoConn {
  setNoDelay(noDelay: boolean): void;
  setKeepAlive(keepAlive: boolean): void;
}

/** The parts of the `Deno` namespace used here. */
interface DenoNamespace {
  connect(options: { hostname: string; port: number; signal?: AbortSignal }): Promise<DenoTcpConn>;
  env: { get(name: string): string | undefined };
  hostname(): string;
  readonly pid: number;
  memoryUsage(): { rss: number };
  addSignalListener(signal: ProcessSignal, handler: () => void): void;
  removeSignalListener(signal: ProcessSignal, handler: () => void): void;
}

const deno = (): DenoNamespace => (globalThis as unknown as { Deno: DenoNamespace }).Deno;

/** Size of a read; a read that fills most of it keeps the buffer, others get a copy. */
const READ_SIZE = 64 * 1024;

async function connect(options: ConnectOptions): Promise<Socket> {
  // TLS goes through Deno's node:tls, which closes a socket at once. A
  // Deno.startTls connection closed before its handshake is done stays open
  // until the peer answers (the handshake is finished first, denoland/deno#14547):
  // against a peer that never answers TLS, each timed-out connect kept its
  // descriptor for good (50 attempts, 50 descriptors; none with node:tls).
  // Loaded on first use, so plain TCP on Deno loads no node:* module.
  if (options.tls !== undefined) {
    return await (await import("./node.ts")).nodeRuntime.connect(options);
  }
  const { hostname, port, signal } = options;
  if (signal?.aborted) throw connectAborted(hostname, port, signal);
  // Deno.connect cancels its attempt on abort, but its `finally` also
  // rethrows an abort that comes after the kernel connected, and so loses
  // that connection where nobody can close it: its descriptor stays open for
  // good (Deno 2.9.6: 4 to 70 of 200 connects aborted at random within
  // 100 ms). It therefore gets a signal of its own whose throwIfAborted does
  // not throw: an abort still cancels the attempt, and a connection that
  // comes anyway is closed here. Should Deno stop calling that method, the
  // racing steps of tests/fd_leak_test.ts fail.
  const cancel = new AbortController();
  cancel.signal.throwIfAborted = () => {};
  const onAbort = () => cancel.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  let tcp: DenoTcpConn;
  try {
    tcp = await deno().connect({ hostname, port, signal: cancel.signal });
  } catch (cause) {
    throw signal?.aborted
      ? connectAborted(hostname, port, signal)
      : connectFailed(hostname, port, cause);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) {
    closeQuietly(tcp);
    throw connectAborted(hostname, port, signal);
  }
  tcp.setNoDelay(true);
  // Deno cannot set the keepalive idle time: the OS default (often 2 hours) applies.
  tcp.setKeepAlive(true);
  return new DenoSocket(tcp, hostname, port);
}

function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

class DenoSocket implements Socket {
  readonly closed: Promise<void>;
  readonly #conn: DenoConn;
  readonly #hostname: string;
  readonly #port: number;
  #buffer: Uint8Array | undefined;
  #isClosed = false;
  #error: ConnectionError | undefined;
  #resolveClosed!: () => void;
  // Writes run one after another; a second caller queues behind the first.
  #writing: Promise<void> | undefined;

  constructor(conn: DenoConn, hostname: string, port: number) {
    this.#conn = conn;
    this.#hostname = hostname;
    this.#port = port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#isClosed) {
        if (this.#error) throw this.#error;
        return null;
      }
      const buffer = this.#buffer ??= new Uint8Array(READ_SIZE);
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch (cause) {
        if (this.#isClosed) continue; // closed meanwhile: null, or the error that closed it
        throw this.#fail(cause);
      }
      if (n === null) {
        this.close(); // the peer is done: close our side too, as Node does
        return null;
      }
      if (n === 0) continue;
      // A nearly full buffer is handed over whole; a small read is copied out,
      // so that a 10-byte reply does not pin 64 KiB.
      if (n >= READ_SIZE / 2) {
        this.#buffer = undefined;
        return buffer.subarray(0, n);
      }
      return buffer.slice(0, n);
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#isClosed) {
      return Promise.reject(this.#error ?? connectionClosed(this.#hostname, this.#port));
    }
    const previous = this.#writing;
    const writing = previous === undefined
      ? this.#writeAll(bytes)
      : previous.then(() => this.#writeAll(bytes));
    this.#writing = writing;
    // Forget the chain once it ends, so an idle socket holds no promise.
    const clear = () => {
      if (this.#writing === writing) this.#writing = undefined;
    };
    writing.then(clear, clear);
    return writing;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let rest = bytes;
    while (rest.length > 0) {
      if (this.#isClosed) throw this.#error ?? connectionClosed(this.#hostname, this.#port);
      try {
        rest = rest.subarray(await this.#conn.write(rest));
      } catch (cause) {
        throw this.#isClosed
          ? this.#error ?? connectionClosed(this.#hostname, this.#port)
          : this.#fail(cause);
      }
    }
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#buffer = undefined;
    closeQuietly(this.#conn);
    this.#resolveClosed();
  }

  /** Closes after an I/O error; later reads and writes get the same error. */
  #fail(cause: unknown): ConnectionError {
    this.#error = connectionLost(this.#hostname, this.#port, cause);
    this.close();
    return this.#error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

/**
 * The adapter for Deno: `Deno.connect`, plus Deno's `node:tls` for TLS with
 * certificate and host name checks always on. Needs `--allow-net`; `env`,
 * `hostname` and `rssKb` degrade gracefully without `--allow-env`/`--allow-sys`.
 *
 * @example
 * ```ts ignore
 * import { denoRuntime } from "./deno.ts";
 * const socket = await denoRuntime.connect({ hostname: "127.0.0.1", port: 7419 });
 * console.log(new TextDecoder().decode((await socket.read()) ?? undefined)); // +HI {...}
 * socket.close();
 * ```
 */
export const denoRuntime: Runtime = {
  name: "deno",
  connect,
  env(name) {
    try {
      return deno().env.get(name);
    } catch {
      return undefined; // no --allow-env
    }
  },
  hostname() {
    try {
      return deno().hostname();
    } catch {
      return "localhost"; // no --allow-sys
    }
  },
  pid: () => deno().pid,
  rssKb() {
    try {
      return Math.round(deno().memoryUsage().rss / 1024);
    } catch {
      return undefined;
    }
  },
  onSignal(signal, handler) {
    try {
      deno().addSignalListener(signal, handler);
    } catch {
      return () => {}; // e.g. SIGTERM on Windows, which Deno cannot listen to
    }
    return () => deno().removeSignalListener(signal, handler);
  },
};

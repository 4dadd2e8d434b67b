/**
 * The Bun adapter, built on `Bun.connect`. `Bun` is reached through a
 * locally declared shape on `globalThis` (no bun-types).
 *
 * @module
 */

import { rootCertificates } from "node:tls";
import type { ConnectionError } from "../errors.ts";
import { ChunkQueue, DONE } from "./chunk_queue.ts";
import {
  connectAborted,
  connectFailed,
  connectionClosed,
  connectionLost,
  tlsFailed,
} from "./errors.ts";
import { processRuntime } from "./process.ts";
import type { ConnectOptions, Runtime, Socket } from "./types.ts";

/** The parts of Bun's TCP socket used here (declared locally: no bun-types). */
interface BunTcpSocket {
  readonly data: BunSocket;
  /** Bytes taken, which may be fewer than given (the rest is ours to resend on drain), or -1 if closed. */
  write(bytes: Uint8Array): number;
  /** Sends FIN and closes now; the close handler runs synchronously. */
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
  setKeepAlive(enable: boolean, initialDelayMs: number): boolean;
}

interface BunHandlers {
  open(socket: BunTcpSocket): void;
  data(socket: BunTcpSocket, chunk: Uint8Array): void;
  drain(socket: BunTcpSocket): void;
  end(socket: BunTcpSocket): void;
  close(socket: BunTcpSocket, error?: Error): void;
  error(socket: BunTcpSocket, error: Error): void;
  handshake(socket: BunTcpSocket, authorized: boolean, error: Error | null): void;
}

interface BunGlobal {
  connect(options: {
    hostname: string;
    port: number;
    data: BunSocket;
    socket: BunHandlers;
    tls?: {
      ca?: string[];
      cert?: string;
      key?: string;
      serverName: string;
      rejectUnauthorized: true;
    };
  }): Promise<BunTcpSocket>;
}

/** Idle time before the first TCP keepalive probe. */
const KEEPALIVE_MS = 15_000;

// One handler set for all sockets (as Bun recommends); each socket's state is its `data`.
const handlers: BunHandlers = {
  open: (socket) => socket.data.attach(socket),
  data: (socket, chunk) => socket.data.onData(chunk),
  drain: (socket) => socket.data.onDrain(),
  end: (socket) => socket.data.onEnd(),
  close: (socket, error) => socket.data.onClose(error),
  error: (socket, error) => socket.data.onClose(error),
  handshake: (socket, authorized, error) => socket.data.onHandshake(authorized, error),
};

interface PendingWrite {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

class BunSocket implements Socket {
  readonly closed: Promise<void>;
  readonly #hostname: string;
  readonly #port: number;
  readonly #queue: ChunkQueue;
  #socket: BunTcpSocket | undefined;
  #isClosed = false;
  #error: ConnectionError | undefined;
  #resolveClosed!: () => void;
  // Bytes Bun did not take yet, in order; the drain handler sends them.
  #pending: PendingWrite[] = [];
  /** Set while connecting: settles connect() on the TLS handshake or an early close. */
  onReady: ((cause?: Error) => void) | undefined;

  constructor(hostname: string, port: number) {
    this.#hostname = hostname;
    this.#port = port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#queue = new ChunkQueue(() => this.#socket?.pause(), () => this.#socket?.resume());
  }

  attach(socket: BunTcpSocket): void {
    if (this.#socket === socket) return;
    if (this.#isClosed) return socket.end(); // connect() gave up (aborted) meanwhile
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
  }

  // Bun hands each callback a fresh buffer (checked by keeping chunks across
  // callbacks), so chunks are queued without copying.
  onData(chunk: Uint8Array): void {
    this.#queue.push(chunk);
  }

  onHandshake(authorized: boolean, error: Error | null): void {
    // With rejectUnauthorized Bun closes a refused socket itself, right after this.
    this.onReady?.(authorized ? undefined : error ?? new Error("certificate not authorized"));
  }

  onEnd(): void {
    this.#queue.end();
    this.#socket?.end(); // no half-open sockets, as on Node
  }

  onClose(cause: Error | undefined): void {
    const error = cause && connectionLost(this.#hostname, this.#port, cause);
    this.onReady?.(cause ?? new Error("closed by the server"));
    this.#finish(error);
  }

  onDrain(): void {
    const socket = this.#socket;
    while (socket !== undefined && this.#pending.length > 0) {
      const head = this.#pending[0] as PendingWrite;
      const written = socket.write(head.bytes);
      if (written < 0) return this.#finish(connectionClosed(this.#hostname, this.#port));
      if (written < head.bytes.length) {
        head.bytes = head.bytes.subarray(written);
        return;
      }
      this.#pending.shift();
      head.resolve();
    }
  }

  read(): Promise<Uint8Array | null> {
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (this.#isClosed || socket === undefined) {
      return Promise.reject(this.#error ?? connectionClosed(this.#hostname, this.#port));
    }
    let rest = bytes;
    if (this.#pending.length === 0) {
      const written = socket.write(bytes);
      if (written === bytes.length) return DONE;
      if (written < 0) return Promise.reject(connectionClosed(this.#hostname, this.#port));
      rest = bytes.subarray(written);
    }
    return new Promise((resolve, reject) => this.#pending.push({ bytes: rest, resolve, reject }));
  }

  close(): void {
    if (this.#isClosed) return;
    this.#queue.clear();
    this.#finish(undefined);
  }

  #finish(error: ConnectionError | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#error = error;
    this.onReady = undefined;
    this.#queue.end(error);
    this.#socket?.end(); // re-enters onClose, which finds us closed
    const pending = this.#pending;
    this.#pending = [];
    for (const write of pending) {
      write.reject(error ?? connectionClosed(this.#hostname, this.#port));
    }
    this.#resolveClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

function connect({ hostname, port, tls, signal }: ConnectOptions): Promise<Socket> {
  if (signal?.aborted) return Promise.reject(connectAborted(hostname, port, signal));
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  const state = new BunSocket(hostname, port);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: ConnectionError) => {
      if (settled) return;
      settled = true;
      state.onReady = undefined;
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) return resolve(state);
      state.close();
      reject(error);
    };
    // Bun.connect takes no signal: give up now, and close the socket if it still opens.
    const onAbort = () => settle(connectAborted(hostname, port, signal as AbortSignal));
    signal?.addEventListener("abort", onAbort, { once: true });
    const fail = tls === undefined ? connectFailed : tlsFailed;
    state.onReady = (cause) => settle(cause && fail(hostname, port, cause));
    bun.connect({
      hostname,
      port,
      data: state,
      socket: handlers,
      ...(tls === undefined ? {} : {
        tls: {
          // Bun follows Node: `ca` would replace the built-in roots, so add to them.
          ...(tls.caCerts?.length ? { ca: [...rootCertificates, ...tls.caCerts] } : {}),
          ...(tls.cert !== undefined && tls.key !== undefined
            ? { cert: tls.cert, key: tls.key }
            : {}),
          serverName: tls.serverName ?? hostname,
          rejectUnauthorized: true,
        },
      }),
    }).then((socket) => {
      state.attach(socket); // closes it if connect() gave up meanwhile
      if (tls === undefined) settle(); // else wait for the handshake handler
    }, (cause: unknown) => settle(connectFailed(hostname, port, cause)));
  });
}

/**
 * The adapter for Bun: `Bun.connect` for TCP and TLS, with certificate and
 * host name checks always on.
 *
 * @example
 * ```ts ignore
 * import { bunRuntime } from "./bun.ts";
 * const socket = await bunRuntime.connect({ hostname: "127.0.0.1", port: 7419 });
 * console.log(new TextDecoder().decode((await socket.read()) ?? undefined)); // +HI {...}
 * socket.close();
 * ```
 */
export const bunRuntime: Runtime = {
  ...processRuntime, // Bun has Node's process, os and signals
  name: "bun",
  connect,
};

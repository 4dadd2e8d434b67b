/**
 * The Node adapter, built on `node:net` and `node:tls`.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
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
import type { ConnectOptions, Runtime, Socket, TlsOptions } from "./types.ts";

/** Idle time before the first TCP keepalive probe. */
const KEEPALIVE_MS = 15_000;

// Node's `ca` option replaces the built-in roots, so extra CAs are appended to
// them; building that context costs ~17 ms, so it is made once per CA list
// and client certificate.
const contexts = new Map<string, tls.SecureContext>();

function secureContext({ caCerts = [], cert, key }: TlsOptions): tls.SecureContext {
  const id = JSON.stringify([caCerts, cert, key]);
  let context = contexts.get(id);
  if (context === undefined) {
    context = tls.createSecureContext({
      ...(caCerts.length > 0 ? { ca: [...tls.rootCertificates, ...caCerts] } : {}),
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    });
    contexts.set(id, context);
  }
  return context;
}

function open(hostname: string, port: number, options: TlsOptions | undefined): net.Socket {
  if (options === undefined) return net.connect({ host: hostname, port });
  const serverName = options.serverName ?? hostname;
  return tls.connect({
    host: hostname,
    port,
    // Node refuses an IP address as SNI name; it then checks the IP itself.
    ...(net.isIP(serverName) === 0 ? { servername: serverName } : {}),
    ...(options.caCerts?.length || options.cert !== undefined
      ? { secureContext: secureContext(options) }
      : {}),
    rejectUnauthorized: true,
  });
}

function connect({ hostname, port, tls: tlsOptions, signal }: ConnectOptions): Promise<Socket> {
  if (signal?.aborted) return Promise.reject(connectAborted(hostname, port, signal));
  return new Promise((resolve, reject) => {
    const socket = open(hostname, port, tlsOptions);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    let tcpConnected = false;
    const onConnect = () => (tcpConnected = true);
    const done = () => {
      socket.off("connect", onConnect).off("connect", onReady).off("secureConnect", onReady)
        .off("error", onError);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (error: ConnectionError) => {
      done();
      socket.destroy();
      reject(error);
    };
    const onError = (cause: Error) => {
      const tlsStarted = tlsOptions !== undefined && tcpConnected;
      fail(tlsStarted ? tlsFailed(hostname, port, cause) : connectFailed(hostname, port, cause));
    };
    const onAbort = () => fail(connectAborted(hostname, port, signal as AbortSignal));
    function onReady() {
      done();
      resolve(new NodeSocket(socket, hostname, port));
    }
    socket.on("connect", onConnect).on("error", onError);
    if (tlsOptions === undefined) socket.once("connect", onReady);
    else socket.once("secureConnect", onReady);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

class NodeSocket implements Socket {
  readonly closed: Promise<void>;
  readonly #socket: net.Socket;
  readonly #hostname: string;
  readonly #port: number;
  readonly #queue: ChunkQueue;
  #isClosed = false;
  #error: ConnectionError | undefined;
  #resolveClosed!: () => void;
  // Writers waiting for 'drain', all released together.
  #drained: Promise<void> | undefined;
  #resolveDrained: (() => void) | undefined;
  #rejectDrained: ((error: Error) => void) | undefined;

  constructor(socket: net.Socket, hostname: string, port: number) {
    this.#socket = socket;
    this.#hostname = hostname;
    this.#port = port;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#queue = new ChunkQueue(() => socket.pause(), () => socket.resume());
    socket.on("data", this.#onData).on("end", this.#onEnd).on("error", this.#onError)
      .on("close", this.#onClose).on("drain", this.#onDrain);
  }

  // Buffers are Uint8Arrays and Node never reuses them: pass them on as they are.
  #onData = (chunk: Buffer) => this.#queue.push(chunk);
  #onEnd = () => this.#queue.end();
  #onError = (cause: Error) => {
    this.#error ??= connectionLost(this.#hostname, this.#port, cause);
    this.#queue.end(this.#error);
  };
  #onClose = () => this.#finish(this.#error);
  #onDrain = () => {
    const resolve = this.#resolveDrained;
    this.#drained = this.#resolveDrained = this.#rejectDrained = undefined;
    resolve?.();
  };

  read(): Promise<Uint8Array | null> {
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#isClosed) {
      return Promise.reject(this.#error ?? connectionClosed(this.#hostname, this.#port));
    }
    if (this.#socket.write(bytes)) return DONE;
    return this.#drained ??= new Promise((resolve, reject) => {
      this.#resolveDrained = resolve;
      this.#rejectDrained = reject;
    });
  }

  close(): void {
    if (this.#isClosed) return;
    this.#queue.clear();
    this.#finish(undefined);
  }

  #finish(error: ConnectionError | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#queue.end(error);
    this.#socket.off("data", this.#onData).off("end", this.#onEnd).off("error", this.#onError)
      .off("close", this.#onClose).off("drain", this.#onDrain);
    // An 'error' may still come while the handle shuts down; it must not be unhandled.
    this.#socket.on("error", ignore);
    this.#socket.destroy();
    this.#rejectDrained?.(error ?? connectionClosed(this.#hostname, this.#port));
    this.#drained = this.#resolveDrained = this.#rejectDrained = undefined;
    this.#resolveClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }
}

function ignore(): void {}

/**
 * The adapter for Node (20 or later): TCP via `node:net`, TLS via `node:tls`
 * with certificate and host name checks always on.
 *
 * @example
 * ```ts ignore
 * import { nodeRuntime } from "./node.ts";
 * const socket = await nodeRuntime.connect({ hostname: "127.0.0.1", port: 7419 });
 * console.log(new TextDecoder().decode((await socket.read()) ?? undefined)); // +HI {...}
 * socket.close();
 * ```
 */
export const nodeRuntime: Runtime = { ...processRuntime, name: "node", connect };

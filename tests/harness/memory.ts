/**
 * Test harness: a {@linkcode Runtime} whose `connect` returns one end of an
 * in-memory duplex; the test drives the other end (a {@linkcode Peer}) as
 * the server. No sockets: a test runs in milliseconds on every runtime and
 * sees exactly the bytes the client wrote. Close every connection (as a
 * test of a real socket must): an open one keeps the process alive.
 *
 * @module
 */
import type { Runtime, Socket } from "../../src/runtime/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A one-way stream of chunks: written on one side, read one chunk at a time on the other. */
class Pipe {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #waiter: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    if (this.#ended) throw new Error("write after the end");
    this.#chunks.push(chunk.slice()); // the writer may reuse its buffer
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The next chunk, or null once ended and drained. */
  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    return this.#chunks.shift() ?? null;
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** The server's end of an in-memory connection. */
export interface Peer {
  /** Sends bytes (or text) to the client. */
  send(data: string | Uint8Array): void;
  /** The next complete line the client wrote (without CRLF); null once it closed. */
  line(): Promise<string | null>;
  /** Every byte the client wrote so far, as text, and each write it made, in order. */
  readonly written: { text: string; writes: string[] };
  /** Closes the connection from the server's side. */
  close(): void;
  /** Resolves once either side closed it. */
  readonly closed: Promise<void>;
  /** Whether the client closed its end. */
  readonly clientClosed: boolean;
}

/** A runtime whose connections are in memory; each connect makes a new {@linkcode Peer}. */
export interface MemoryRuntime extends Runtime {
  /** The peer of the next connection (already made, or when it is made). */
  nextPeer(): Promise<Peer>;
  /** Connections made so far. */
  readonly connects: number;
}

export function memoryRuntime(): MemoryRuntime {
  const made: Peer[] = [];
  const waiting: ((peer: Peer) => void)[] = [];
  let taken = 0;
  const runtime: MemoryRuntime = {
    name: "memory",
    get connects() {
      return made.length;
    },
    nextPeer() {
      const peer = made[taken];
      if (peer !== undefined) {
        taken++;
        return Promise.resolve(peer);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    connect(options) {
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
      const [socket, peer] = duplex();
      made.push(peer);
      const waiter = waiting.shift();
      if (waiter !== undefined) {
        taken++;
        waiter(peer);
      }
      return Promise.resolve(socket);
    },
    env: () => undefined,
    hostname: () => "memory-host",
    pid: () => 4242,
    rssKb: () => undefined,
    onSignal: () => () => {},
  };
  return runtime;
}

/** A connected pair: the client's Socket and the server's Peer. */
function duplex(): [Socket, Peer] {
  const toClient = new Pipe();
  const toServer = new Pipe();
  let clientClosed = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  // An open socket keeps the process alive, and so does this: without it,
  // Node ends a test waiting only on an unref'd timer (AbortSignal.timeout).
  const open = setInterval(() => {}, 60_000);
  const closeBoth = () => {
    if (!toClient.ended) toClient.end();
    if (!toServer.ended) toServer.end();
    clearInterval(open);
    markClosed();
  };
  const written = { text: "", writes: [] as string[] };
  const socket: Socket = {
    read: () => toClient.read(),
    write(bytes) {
      if (toServer.ended) return Promise.reject(new Error("the connection is closed"));
      const text = decoder.decode(bytes);
      written.text += text;
      written.writes.push(text);
      toServer.push(bytes);
      return Promise.resolve();
    },
    close() {
      clientClosed = true;
      closeBoth();
    },
    closed,
    [Symbol.asyncDispose]() {
      socket.close();
      return closed;
    },
  };
  let buffer = "";
  const peer: Peer = {
    send: (data) => {
      if (!toClient.ended) toClient.push(typeof data === "string" ? encoder.encode(data) : data);
    },
    async line() {
      for (;;) {
        const end = buffer.indexOf("\r\n");
        if (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return line;
        }
        const chunk = await toServer.read();
        if (chunk === null) return null;
        buffer += decoder.decode(chunk);
      }
    },
    written,
    close: closeBoth,
    closed,
    get clientClosed() {
      return clientClosed;
    },
  };
  return [socket, peer];
}

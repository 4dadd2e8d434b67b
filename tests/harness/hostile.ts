/**
 * Test harness: a scripted fake Faktory, for what a real server cannot be
 * made to do: send a bad greeting or reply, stall, cut a reply short. Each
 * accepted connection runs the script with a {@linkcode Peer}. Uses only
 * `node:` builtins so the same file runs on Deno, Bun and Node.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";

/** One accepted connection, as the script sees it. */
export interface Peer {
  /** Writes bytes (a string is sent as UTF-8); resolves once the socket took them. */
  write(data: string | Uint8Array): Promise<void>;
  /** Writes `data` one piece of `size` bytes at a time, `ms` apart. */
  trickle(data: string, size: number, ms: number): Promise<void>;
  /** The next line the client sent, without its CRLF; `null` once it closed. */
  readLine(): Promise<string | null>;
  /** Stops reading: the client's writes fill the kernel's buffers, then block. */
  stopReading(): void;
  /** Resolves once the client closed (or the server stopped). */
  readonly closed: Promise<void>;
  /** Closes the connection now. */
  close(): void;
}

/** What the fake server does with each connection. */
export type Script = (peer: Peer) => Promise<void> | void;

/** A running fake server; `await using` stops it. */
export interface HostileServer extends AsyncDisposable {
  readonly port: number;
  /** `tcp://127.0.0.1:PORT` (`tcp+tls://` with TLS), with `:password@` if given. */
  url(password?: string): string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections still open on our side. */
  readonly open: number;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A greeting such as Faktory sends, with these fields. */
export function hi(fields: Record<string, unknown>): string {
  return `+HI ${JSON.stringify({ v: 2, ...fields })}\r\n`;
}

/** Sends `greeting`, then waits for the client to go: a server that never answers HELLO. */
export function greetThenStall(greeting: string): Script {
  return async (peer) => {
    await peer.write(greeting);
    await peer.closed;
  };
}

/** Accepts and says nothing, not even a TLS handshake. */
export const silent: Script = (peer) => peer.closed;

/**
 * Greets without a password, answers HELLO with `+OK`, then answers every
 * command with `reply(line)`; `undefined` sends nothing.
 */
export function afterHello(reply: (peer: Peer, line: string) => Promise<void> | void): Script {
  return async (peer) => {
    await peer.write(hi({}));
    const hello = await peer.readLine();
    if (hello === null || !hello.startsWith("HELLO ")) return peer.close();
    await peer.write("+OK\r\n");
    for (let line = await peer.readLine(); line !== null; line = await peer.readLine()) {
      await reply(peer, line);
    }
  };
}

/** A PEM key and certificate: the fake then speaks TLS. */
export interface HostileTls {
  readonly key: string;
  readonly cert: string;
}

/** Starts a fake server running `script` on a free 127.0.0.1 port. */
export async function startHostile(
  script: Script,
  options: { tls?: HostileTls } = {},
): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const onConnection = (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.setNoDelay(true);
    const peer = new SocketPeer(socket);
    socket.on("close", () => sockets.delete(socket));
    Promise.resolve()
      .then(() => script(peer))
      .catch(() => {}) // the client went away mid-script
      .finally(() => peer.closed.then(() => socket.destroy()));
  };
  const listener = options.tls === undefined
    ? net.createServer(onConnection)
    : tls.createServer(options.tls, onConnection).on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (listener.address() as net.AddressInfo).port;
  const server: HostileServer = {
    port,
    url: (password) =>
      `tcp${options.tls ? "+tls" : ""}://${
        password === undefined ? "" : `:${encodeURIComponent(password)}@`
      }127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    async stop() {
      const closed = new Promise((resolve) => listener.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    [Symbol.asyncDispose]() {
      return server.stop();
    },
  };
  return server;
}

class SocketPeer implements Peer {
  readonly closed: Promise<void>;
  #buffer = "";
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(private readonly socket: net.Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      })
    );
    // An orderly end from the client: close our side too, so no socket lingers.
    socket.on("end", () => socket.end());
  }

  write(data: string | Uint8Array): Promise<void> {
    if (this.socket.destroyed) return Promise.reject(new Error("peer closed"));
    return new Promise((resolve, reject) =>
      this.socket.write(typeof data === "string" ? encoder.encode(data) : data, (e) => {
        if (e) reject(e);
        else resolve();
      })
    );
  }

  async trickle(data: string, size: number, ms: number): Promise<void> {
    const bytes = encoder.encode(data);
    for (let i = 0; i < bytes.length && !this.#ended; i += size) {
      await this.write(bytes.subarray(i, i + size));
      await sleep(ms);
    }
  }

  async readLine(): Promise<string | null> {
    for (;;) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return line;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  stopReading(): void {
    this.socket.pause();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Test harness: the Faktory protocol by hand, over a plain socket, to check
 * what a real server does with exactly the bytes given (things the library
 * never sends, or that must be seen without its handling in between). It
 * reads replies itself rather than with the library's reply reader. Uses
 * only `node:` builtins (Deno, Bun, Node).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as net from "node:net";
import type { FaktoryServer } from "./faktory.ts";
import { until } from "./until.ts";

/** One raw connection: lines out, replies in. `await using` closes it. */
export interface Wire extends AsyncDisposable {
  /** Writes `line` and CRLF. */
  send(line: string): void;
  /**
   * The next reply: `+text`, `-text`, a bulk string's content, `null` for
   * `$-1`, or `undefined` once the server closed the connection.
   */
  reply(): Promise<string | null | undefined>;
  /** Resolves once the server (or `close`) ended the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Connects without a handshake: the first reply is the server's `+HI`. */
export function connectWire(server: Pick<FaktoryServer, "host" | "port">): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffer = Buffer.alloc(0);
    let ended = false;
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      wake();
    });
    const closed = new Promise<void>((done) =>
      socket.once("close", () => {
        ended = true;
        wake();
        done();
      })
    );
    socket.on("error", () => {}); // a reset ends the connection like a close
    /** Resolves with a whole reply taken off the buffer, or undefined while incomplete. */
    const take = (): string | null | undefined => {
      const end = buffer.indexOf("\r\n");
      if (end < 0) return undefined;
      const line = buffer.subarray(0, end).toString("utf8");
      if (!line.startsWith("$")) {
        buffer = buffer.subarray(end + 2);
        return line;
      }
      const length = Number(line.slice(1));
      if (length < 0) {
        buffer = buffer.subarray(end + 2);
        return null;
      }
      if (buffer.length < end + 2 + length + 2) return undefined;
      const body = buffer.subarray(end + 2, end + 2 + length).toString("utf8");
      buffer = buffer.subarray(end + 2 + length + 2);
      return body;
    };
    const wire: Wire = {
      send: (line) => void socket.write(`${line}\r\n`),
      async reply() {
        for (;;) {
          const reply = take();
          if (reply !== undefined) return reply;
          if (ended) return undefined;
          await new Promise<void>((w) => waiters.push(w));
        }
      },
      closed,
      close: () => void socket.destroy(),
      [Symbol.asyncDispose]: async () => {
        socket.destroy();
        await closed;
      },
    };
    socket.once("connect", () => resolve(wire));
    socket.once("error", reject);
  });
}

/** Connects and says HELLO (no password; `fields` go into it, e.g. a `wid`). */
export async function helloWire(
  server: Pick<FaktoryServer, "host" | "port">,
  fields: Record<string, unknown> = {},
): Promise<Wire> {
  const wire = await connectWire(server);
  const hi = await wire.reply();
  if (!hi?.startsWith("+HI ")) throw new Error(`expected +HI, got ${JSON.stringify(hi)}`);
  wire.send(`HELLO ${JSON.stringify({ v: 2, hostname: "wire", pid: 1, ...fields })}`);
  const ok = await wire.reply();
  if (ok !== "+OK") throw new Error(`expected +OK to HELLO, got ${JSON.stringify(ok)}`);
  return wire;
}

/**
 * Fills the server up to its 2000 connections, beside the one connection
 * `counted` already holds (a `useFaktory` client): opens 1999 wires, 100 at
 * a time, and waits until INFO counts 2000. Close them with `closeAll`.
 */
export async function fillConnections(
  server: Pick<FaktoryServer, "host" | "port">,
  counted: { info(): Promise<{ server: { connections: number } }> },
): Promise<Wire[]> {
  const open: Wire[] = [];
  try {
    for (let i = 0; i < 1999; i += 100) {
      const batch = Math.min(100, 1999 - i);
      open.push(...await Promise.all(Array.from({ length: batch }, () => helloWire(server))));
    }
    // The server counts a connection just after its +OK to HELLO.
    await until(
      async () => (await counted.info()).server.connections === 2000,
      10_000,
      "2000 connections counted",
    );
    return open;
  } catch (e) {
    for (const wire of open) wire.close();
    throw e;
  }
}

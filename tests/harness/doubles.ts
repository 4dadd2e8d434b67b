/**
 * Test harness: test doubles for what a real Faktory cannot be made to do
 * (answer with garbage, never answer), and a free port with nothing on it.
 * Uses only `node:` builtins (Deno, Bun, Node).
 *
 * @module
 */
import * as net from "node:net";

/** A port on 127.0.0.1 that nothing listens on (at the time of the call). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A fake Faktory: greets, answers HELLO with +OK, and hands every later
 * command line to `answer`. Counts connections and how many are open.
 */
export async function fakeServer(answer: (line: string, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, open: 0 };
  const srv = net.createServer((socket) => {
    state.connections++;
    state.open++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      state.open--;
      sockets.delete(socket);
    });
    socket.write('+HI {"v":2}\r\n');
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line.startsWith("HELLO")) socket.write("+OK\r\n");
        else if (line === "END") socket.end();
        else if (!socket.destroyed) answer(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => srv.close(resolve));
  };
  return {
    url: `tcp://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    get open() {
      return state.open;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A server that accepts and never says anything or, with `greet`, greets
 * and accepts HELLO and then never answers again.
 */
export async function stallingServer(greet = false) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    if (greet) {
      socket.write('+HI {"v":2}\r\n');
      socket.once("data", () => socket.write("+OK\r\n"));
    }
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}

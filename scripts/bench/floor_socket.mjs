/**
 * The raw socket of the floor client (scripts/bench/floor.mjs): each
 * runtime's own TCP API with nothing on top, Deno.connect on Deno,
 * Bun.connect on Bun, node:net on Node, and a RESP reader. Replies are
 * matched to commands in order (pipelining): `send()` writes one or more
 * commands at once and `reply()` waits for the next reply. Not part of the
 * library, which these files do not import. Commands sent in one turn of the
 * event loop go out in one write, as any pipelining client would do.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;

/** A reply the server sent as `-ERR ...`. */
export class ServerError extends Error {}

/**
 * Parses RESP replies out of the bytes received so far: simple strings,
 * errors, integers and bulk strings (null as `null`), the only kinds Faktory
 * sends to a client.
 */
class RespReader {
  /** @type {Uint8Array} */
  buf = new Uint8Array(0);
  pos = 0;

  /** @param {Uint8Array} chunk */
  push(chunk) {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      const rest = this.buf.subarray(this.pos);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest);
      joined.set(chunk, rest.length);
      this.buf = joined;
    }
    this.pos = 0;
  }

  /** The next complete reply, or `undefined` until more bytes arrive. */
  next() {
    const { buf, pos } = this;
    const cr = buf.indexOf(CR, pos);
    if (cr < 0 || cr + 1 >= buf.length) return undefined;
    const kind = buf[pos];
    const line = decoder.decode(buf.subarray(pos + 1, cr));
    switch (kind) {
      case 43: // +
        this.pos = cr + 2;
        return { value: line };
      case 45: // -
        this.pos = cr + 2;
        return { value: new ServerError(line) };
      case 58: // :
        this.pos = cr + 2;
        return { value: Number(line) };
      case 36: { // $
        const len = Number(line);
        if (len < 0) {
          this.pos = cr + 2;
          return { value: null };
        }
        const start = cr + 2;
        if (buf.length < start + len + 2) return undefined;
        this.pos = start + len + 2;
        return { value: decoder.decode(buf.subarray(start, start + len)) };
      }
      default:
        throw new Error(`unexpected RESP type byte ${kind}`);
    }
  }
}

/** One connection: in-order replies over the runtime's own socket. */
export class RawConn {
  /** @type {((value: unknown) => void)[]} */
  #waiting = [];
  /** @type {unknown[]} */
  #ready = [];
  #reader = new RespReader();
  /** @type {(bytes: Uint8Array) => void} */
  #write;
  /** @type {() => void} */
  close;

  /** @param {{ write: (bytes: Uint8Array) => void, close: () => void }} io */
  constructor(io) {
    this.#write = io.write;
    this.close = io.close;
  }

  /** @param {Uint8Array} chunk */
  received(chunk) {
    this.#reader.push(chunk);
    for (let r = this.#reader.next(); r !== undefined; r = this.#reader.next()) {
      const resolve = this.#waiting.shift();
      if (resolve) resolve(r.value);
      else this.#ready.push(r.value);
    }
  }

  /** Commands sent in this turn of the event loop, written together at its end. */
  #out = "";

  /** Queues commands (each a line without its CRLF) for one write with the turn's others. */
  send(...lines) {
    if (this.#out === "") queueMicrotask(() => this.flush());
    this.#out += `${lines.join("\r\n")}\r\n`;
  }

  /** Writes what is queued now. */
  flush() {
    if (this.#out === "") return;
    const text = this.#out;
    this.#out = "";
    this.#write(encoder.encode(text));
  }

  /** The next reply; an `-ERR` reply rejects. */
  async reply() {
    const value = this.#ready.length > 0
      ? this.#ready.shift()
      : await new Promise((resolve) => this.#waiting.push(resolve));
    if (value instanceof ServerError) throw value;
    return value;
  }
}

/**
 * Opens a TCP connection to host:port with the runtime's own API.
 * @returns {Promise<RawConn>}
 */
export function openSocket(host, port) {
  const g = /** @type {any} */ (globalThis);
  if (g.Deno) return openDeno(g.Deno, host, port);
  if (g.Bun) return openBun(g.Bun, host, port);
  return openNode(host, port);
}

async function openDeno(Deno, host, port) {
  const socket = await Deno.connect({ hostname: host, port });
  socket.setNoDelay(true);
  // Writes queue one after another; Deno's write() may take only part of the bytes.
  let writing = Promise.resolve();
  const conn = new RawConn({
    write: (bytes) => {
      writing = writing.then(async () => {
        for (let off = 0; off < bytes.length;) off += await socket.write(bytes.subarray(off));
      });
    },
    // After the queued writes (END), else they would hit a closed resource.
    close: () => void writing.finally(() => socket.close()).catch(() => {}),
  });
  (async () => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n;
      try {
        n = await socket.read(buf);
      } catch {
        return; // closed
      }
      if (n === null) return;
      conn.received(buf.slice(0, n));
    }
  })();
  return conn;
}

async function openBun(Bun, host, port) {
  /** Bytes the kernel did not take yet: written again on `drain`. */
  const pending = [];
  const flush = (socket) => {
    while (pending.length > 0) {
      const head = pending[0];
      const n = socket.write(head);
      if (n < head.length) {
        pending[0] = head.subarray(Math.max(n, 0));
        return;
      }
      pending.shift();
    }
  };
  const io = { socket: undefined };
  const conn = new RawConn({
    write: (bytes) => {
      pending.push(bytes);
      if (pending.length === 1 && io.socket) flush(io.socket);
    },
    close: () => io.socket?.end(),
  });
  io.socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      // The connection exists before the socket, so no byte can come too early.
      data: (_s, data) => conn.received(data),
      drain: (s) => flush(s),
    },
  });
  io.socket.setNoDelay?.(true);
  return conn;
}

async function openNode(host, port) {
  const net = await import("node:net");
  const socket = net.connect({ host, port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const conn = new RawConn({
    write: (bytes) => socket.write(bytes),
    close: () => socket.destroy(),
  });
  socket.on("data", (data) => conn.received(data));
  return conn;
}

// Tests of the socket layer of whichever runtime runs them (Deno, Bun or
// Node), through loadRuntime(). The peers are local test doubles built on
// node:net / node:tls, not Faktory: only bytes, back-pressure, TLS and errors
// are under test here.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as tls from "node:tls";
import { ConnectionError, TimeoutError } from "../src/errors.ts";
import { loadRuntime } from "../src/runtime/detect.ts";
import type { Socket } from "../src/runtime/types.ts";

const runtime = await loadRuntime();
const HOST = "127.0.0.1";

// ---- helpers ----------------------------------------------------------------

/** Starts `server` on a free loopback port; `stop` also destroys accepted sockets. */
async function serve(server: net.Server) {
  const accepted = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    accepted.add(s);
    s.on("error", () => {});
    s.on("close", () => accepted.delete(s));
  });
  server.on("secureConnection", (s: net.Socket) => s.on("error", () => {}));
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, accepted, stop };
}

const echoHandler = (s: net.Socket) => s.on("data", (d: Uint8Array) => s.write(d));

/** A pattern where every byte depends on its position, to catch loss and reordering. */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >>> 16)) & 0xff;
  return bytes;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array) {
  assert.equal(actual.length, expected.length, "byte count");
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`byte ${i}: ${actual[i]} !== ${expected[i]}`);
  }
}

/** Reads until `size` bytes arrived (or the end). */
async function readBytes(socket: Socket, size: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (n < size) {
    const chunk = await socket.read();
    if (chunk === null) break;
    chunks.push(chunk);
    n += chunk.length;
  }
  return concat(chunks);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const ascii = (s: string) => new TextEncoder().encode(s);

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const settled = promise.then(() => true, () => true);
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Error);
    return e;
  }
  return assert.fail("expected a rejection");
}

interface Certs {
  ca: string;
  otherCa: string;
  key: string;
  cert: string;
}

let certs: Certs | undefined;

/** A CA, a leaf for localhost/127.0.0.1 signed by it, and an unrelated CA (made with openssl). */
function makeCerts(): Certs {
  if (certs) return certs;
  const dir = mkdtempSync(join(tmpdir(), "faktory-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    for (const name of ["ca", "other"]) {
      openssl(
        "req",
        "-x509",
        ...ec,
        "-days",
        "2",
        "-subj",
        `/CN=Test ${name} CA`,
        "-keyout",
        file(`${name}.key`),
        "-out",
        file(`${name}.pem`),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      );
    }
    openssl(
      "req",
      ...ec,
      "-subj",
      "/CN=localhost",
      "-keyout",
      file("leaf.key"),
      "-out",
      file("leaf.csr"),
    );
    writeFileSync(
      file("leaf.ext"),
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file("leaf.csr"),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      file("leaf.ext"),
      "-out",
      file("leaf.pem"),
    );
    const read = (name: string) => readFileSync(file(name), "utf8");
    certs = {
      ca: read("ca.pem"),
      otherCa: read("other.pem"),
      key: read("leaf.key"),
      cert: read("leaf.pem"),
    };
    return certs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function tlsServer(handler: (s: net.Socket) => void) {
  const { key, cert } = makeCerts();
  return await serve(tls.createServer({ key, cert }, handler));
}

const PREFIX = "socket adapter";

// ---- plain TCP ----------------------------------------------------------------

test(`${PREFIX}: loadRuntime picks the adapter of the running runtime`, () => {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const expected = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
  assert.equal(runtime.name, expected);
});

test(`${PREFIX} (local echo server): bytes written come back unchanged`, async () => {
  const server = await serve(net.createServer(echoHandler));
  try {
    await using socket = await runtime.connect({ hostname: HOST, port: server.port });
    await socket.write(ascii("hello "));
    await socket.write(ascii("world"));
    assert.equal(text(await readBytes(socket, 11)), "hello world");
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local slow-reading server): a 32 MiB write waits for the reader, then arrives whole and in order`, async () => {
  const size = 32 * 1024 * 1024; // far beyond the kernel's socket buffers
  const received: Uint8Array[] = [];
  let peer: net.Socket | undefined;
  const server = await serve(net.createServer((s) => {
    peer = s;
    s.pause(); // reads nothing until told
    s.on("data", (d: Uint8Array) => received.push(d));
  }));
  try {
    await using socket = await runtime.connect({ hostname: HOST, port: server.port });
    const data = pattern(size);
    const written = socket.write(data);
    assert.equal(await settlesWithin(written, 300), false, "write resolved while nobody read");
    assert.ok(peer);
    // Read slowly: a few pauses while the data flows.
    peer.resume();
    for (let i = 0; i < 5; i++) {
      await sleep(20);
      peer.pause();
      await sleep(20);
      peer.resume();
    }
    await written;
    while (received.reduce((n, c) => n + c.length, 0) < size) await sleep(10);
    assertSameBytes(concat(received), data);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local server sending 32 MiB): a slow reader gets every byte in order, and unread data stays in the kernel`, async () => {
  const size = 32 * 1024 * 1024;
  const data = pattern(size);
  let flushed = false;
  const server = await serve(net.createServer((s) => {
    s.write(data, () => (flushed = true));
    s.end();
  }));
  try {
    await using socket = await runtime.connect({ hostname: HOST, port: server.port });
    await sleep(300);
    // Had the adapter slurped everything into memory, Node would have flushed it all by now.
    assert.equal(flushed, false, "the adapter read ahead without bound");
    const chunks: Uint8Array[] = [];
    let n = 0;
    for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) {
      chunks.push(chunk);
      n += chunk.length;
      if (chunks.length % 64 === 0) await sleep(1); // a slow consumer
    }
    assert.equal(n, size);
    assertSameBytes(concat(chunks), data);
    assert.equal(await socket.read(), null, "reads after the end stay null");
    assert.equal(
      await settlesWithin(socket.closed, 1000),
      true,
      "closed resolves after the peer closed",
    );
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local server that says bye): the data, then null at the end of the stream`, async () => {
  const server = await serve(net.createServer((s) => s.end("bye\r\n")));
  try {
    const socket = await runtime.connect({ hostname: HOST, port: server.port });
    assert.equal(text(await readBytes(socket, 5)), "bye\r\n");
    assert.equal(await socket.read(), null);
    await socket.closed;
    const error = await rejection(socket.write(ascii("late")));
    assert.ok(error instanceof ConnectionError);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX}: a refused connection is a ConnectionError naming host:port`, async () => {
  // A port that was free a moment ago: nobody listens there.
  const probe = await serve(net.createServer());
  await probe.stop();
  const error = await rejection(runtime.connect({ hostname: HOST, port: probe.port }));
  assert.ok(error instanceof ConnectionError, String(error));
  assert.ok(!(error instanceof TimeoutError));
  assert.match(error.message, new RegExp(`${HOST}:${probe.port}`));
  assert.match(error.message, /ECONNREFUSED.*is Faktory running there\?/);
  assert.ok(error.cause !== undefined);
});

test(`${PREFIX}: an already-aborted signal refuses to connect with ConnectionError or TimeoutError`, async () => {
  const server = await serve(net.createServer());
  try {
    const aborted = await rejection(
      runtime.connect({ hostname: HOST, port: server.port, signal: AbortSignal.abort() }),
    );
    assert.ok(aborted instanceof ConnectionError && !(aborted instanceof TimeoutError));
    assert.equal(aborted.message, `Connecting to ${HOST}:${server.port} was aborted`);
    assert.equal((aborted.cause as Error).name, "AbortError");

    const reason = new DOMException("took too long", "TimeoutError");
    const timedOut = await rejection(
      runtime.connect({ hostname: HOST, port: server.port, signal: AbortSignal.abort(reason) }),
    );
    assert.ok(timedOut instanceof TimeoutError);
    assert.equal(timedOut.message, `Connecting to ${HOST}:${server.port} timed out`);
    assert.equal(timedOut.cause, reason);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX}: close() is idempotent, resolves closed, ends pending reads and refuses writes`, async () => {
  const server = await serve(net.createServer((s) => s.resume()));
  try {
    const socket = await runtime.connect({ hostname: HOST, port: server.port });
    const pending = socket.read();
    socket.close();
    socket.close();
    assert.equal(await pending, null);
    assert.equal(await socket.read(), null);
    await socket.closed;
    await socket[Symbol.asyncDispose]();
    const error = await rejection(socket.write(ascii("x")));
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, new RegExp(`${HOST}:${server.port} is closed`));
    // The server sees the connection go away.
    for (let i = 0; i < 100 && server.accepted.size > 0; i++) await sleep(10);
    assert.equal(server.accepted.size, 0);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local server that never reads): close() rejects a write waiting for room`, async () => {
  const server = await serve(net.createServer((s) => s.pause()));
  try {
    const socket = await runtime.connect({ hostname: HOST, port: server.port });
    const written = socket.write(pattern(32 * 1024 * 1024));
    assert.equal(await settlesWithin(written, 100), false);
    socket.close();
    const error = await rejection(written);
    assert.ok(error instanceof ConnectionError, String(error));
    await socket.closed;
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local server that resets the connection): reads and writes reject with ConnectionError`, async () => {
  const server = await serve(net.createServer((s) => s.once("data", () => s.resetAndDestroy())));
  try {
    const socket = await runtime.connect({ hostname: HOST, port: server.port });
    await socket.write(ascii("hello"));
    const error = await rejection(socket.read());
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, new RegExp(`^Connection to ${HOST}:${server.port} was lost`));
    assert.ok(error.cause !== undefined);
    assert.ok((await rejection(socket.write(ascii("more")))) instanceof ConnectionError);
    assert.equal(await settlesWithin(socket.closed, 1000), true);
  } finally {
    await server.stop();
  }
});

// ---- TLS --------------------------------------------------------------------

test(`${PREFIX} (local TLS echo server): the right CA verifies, for an IP and for a server name`, async () => {
  const { ca } = makeCerts();
  const server = await tlsServer(echoHandler);
  try {
    await using byIp = await runtime.connect({
      hostname: HOST,
      port: server.port,
      tls: { caCerts: [ca] },
    });
    await byIp.write(ascii("over tls"));
    assert.equal(text(await readBytes(byIp, 8)), "over tls");

    await using byName = await runtime.connect({
      hostname: HOST,
      port: server.port,
      tls: { caCerts: [ca], serverName: "localhost" },
    });
    const data = pattern(4 * 1024 * 1024);
    const [, echoed] = await Promise.all([byName.write(data), readBytes(byName, data.length)]);
    assertSameBytes(echoed, data);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local TLS server): a missing, wrong or mismatched CA fails the handshake with ConnectionError`, async () => {
  const { ca, otherCa } = makeCerts();
  const server = await tlsServer(echoHandler);
  try {
    const attempts = [
      { caCerts: [] as string[] },
      { caCerts: [otherCa] },
      { caCerts: [ca], serverName: "faktory.example.com" },
    ];
    for (const tlsOptions of attempts) {
      const error = await rejection(runtime.connect({
        hostname: HOST,
        port: server.port,
        tls: tlsOptions,
        signal: AbortSignal.timeout(5000),
      }));
      assert.ok(
        error instanceof ConnectionError && !(error instanceof TimeoutError),
        String(error),
      );
      assert.match(error.message, new RegExp(`^TLS handshake with ${HOST}:${server.port} failed`));
      assert.match(error.message, /check the CA certificate/);
    }
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local plain-TCP server): a TLS client fails fast instead of hanging`, async () => {
  const server = await serve(net.createServer((s) => s.write('+HI {"v":2}\r\n')));
  try {
    const error = await rejection(runtime.connect({
      hostname: HOST,
      port: server.port,
      tls: { caCerts: [makeCerts().ca] },
      signal: AbortSignal.timeout(5000),
    }));
    assert.ok(error instanceof ConnectionError && !(error instanceof TimeoutError), String(error));
    assert.match(error.message, /TLS handshake .* failed .*server uses TLS/);
  } finally {
    await server.stop();
  }
});

test(`${PREFIX} (local server that never answers a TLS hello): the signal's timeout ends the handshake and the socket`, async () => {
  const server = await serve(net.createServer((s) => s.resume())); // reads, never answers
  try {
    const error = await rejection(runtime.connect({
      hostname: HOST,
      port: server.port,
      tls: {},
      signal: AbortSignal.timeout(200),
    }));
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.message, `Connecting to ${HOST}:${server.port} timed out`);
    // No half-open socket is left behind. Deno is the exception: closing a
    // TlsConn mid-handshake waits for the handshake to end (see deno.ts), so
    // the socket stays until the server answers or hangs up.
    if (runtime.name !== "deno") {
      for (let i = 0; i < 100 && server.accepted.size > 0; i++) await sleep(10);
      assert.equal(server.accepted.size, 0);
    }

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await rejection(runtime.connect({
      hostname: HOST,
      port: server.port,
      tls: {},
      signal: controller.signal,
    }));
    assert.ok(aborted instanceof ConnectionError && !(aborted instanceof TimeoutError));
    assert.match(aborted.message, /was aborted$/);
  } finally {
    await server.stop();
  }
});

// ---- the rest of Runtime ------------------------------------------------------

test(`${PREFIX}: env, hostname, pid, rssKb and onSignal`, () => {
  assert.equal(runtime.env("FAKTORY_TS_SURELY_UNSET_VARIABLE"), undefined);
  assert.equal(typeof runtime.env("PATH"), "string");
  assert.ok(runtime.hostname().length > 0);
  assert.ok(Number.isInteger(runtime.pid()) && runtime.pid() > 0);
  const rss = runtime.rssKb();
  assert.ok(rss !== undefined && rss > 1000, `rss ${rss}`);
  const off = runtime.onSignal("SIGTSTP", () => {});
  off();
  off();
});

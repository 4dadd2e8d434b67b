// The Cloudflare entry point in workerd (npm `workerd`), against real Faktory
// servers: a Worker bundled as wrangler bundles it pushes jobs on request, and
// the test checks on the server what arrived. scripts/test.ts runs this file
// in a pass of its own ("workerd"), driven by Deno.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as fsp from "node:fs/promises";
import net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client, type JobPayload, silentLogger, Worker } from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";
import { bundle, cpuMs, repoRoot, startWorkerd, type Workerd } from "./harness/workerd.ts";

const PASSWORD = "edge secret";

/** GETs a route of the Worker; resolves with its status and JSON body. */
async function call(
  workerd: Workerd,
  route: string,
  params: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${workerd.url}${route}?${new URLSearchParams(params)}`);
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

/** Connects from the test (Deno), not from the Worker, to look at what the server has. */
function inspect(server: FaktoryServer): Promise<Client> {
  return Client.connect({
    url: server.url,
    ...(server.caCert ? { tls: { caCerts: [server.caCert] } } : {}),
    logger: silentLogger,
  });
}

async function fetchAll(server: FaktoryServer, queue: string, count: number) {
  await using client = await inspect(server);
  const jobs: JobPayload[] = [];
  while (jobs.length < count) {
    const job = await client.fetch([queue]);
    if (job === null) break;
    await client.ack(job.jid);
    jobs.push(job);
  }
  return jobs;
}

describe("Cloudflare Workers (workerd)", () => {
  let dir: string;
  let plain: FaktoryServer;
  let secured: FaktoryServer;
  let tls: FaktoryServer;
  let workerd: Workerd;

  before(async () => {
    [plain, secured, tls] = await Promise.all([
      startFaktory(),
      startFaktory({ password: PASSWORD }),
      startFaktory({ tls: true }),
    ]);
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "edge-"));
    const worker = await bundle(
      path.join(repoRoot(), "tests/fixtures/cloudflare_worker.ts"),
      path.join(dir, "worker.js"),
    );
    assert.deepEqual(worker.imports, ["cloudflare:sockets", "cloudflare:workers"]);
    workerd = await startWorkerd({
      script: worker.file,
      bindings: { FAKTORY_URL: secured.url },
      // Workers trust the public CAs only; a local workerd can trust the test's own.
      trustedCertificates: [tls.caCert!],
    });
  });

  after(async () => {
    await workerd?.stop();
    await Promise.all([plain?.stop(), secured?.stop(), tls?.stop()]);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  test("pushes a job to a server without a password; it arrives intact", async () => {
    const args = [1, "two", { three: [3, 3.5] }, 'ünïcødé ✓ "quoted" \\ back', null, true, []];
    const { status, body } = await call(workerd, "/push", {
      url: plain.url,
      args: JSON.stringify(args),
      queue: "edge-plain",
    });
    assert.equal(status, 200, JSON.stringify(body));
    const [job, ...more] = await fetchAll(plain, "edge-plain", 2);
    assert.equal(more.length, 0);
    assert.equal(job?.jid, body.jid);
    assert.equal(job?.jobtype, "EdgeJob");
    assert.deepEqual(job?.args, args);
    assert.deepEqual(job?.custom, { from: "workerd" });
  });

  test("pushes with the password of the FAKTORY_URL binding", async () => {
    const { status, body } = await call(workerd, "/push", {
      args: JSON.stringify(["from the binding"]),
      queue: "edge-secured",
    });
    assert.equal(status, 200, JSON.stringify(body));
    const jobs = await fetchAll(secured, "edge-secured", 1);
    assert.deepEqual(jobs.map((j) => [j.jid, j.args]), [[body.jid, ["from the binding"]]]);
  });

  test("concurrent requests with four password handshakes each all push", async () => {
    // The library bounds concurrent hashing with slots shared by the isolate, so
    // one request's handshake may wait for another request's to finish.
    const calls = Array.from(
      { length: 4 },
      (_, i) =>
        call(workerd, "/push", { pool: "4", args: JSON.stringify([i]), queue: "edge-concurrent" }),
    );
    const results = await Promise.all(calls);
    for (const { status, body } of results) assert.equal(status, 200, JSON.stringify(body));
    const jobs = await fetchAll(secured, "edge-concurrent", 4);
    assert.deepEqual(jobs.map((j) => j.args[0]).sort(), [0, 1, 2, 3]);
  });

  test("pushes a bulk of 300 jobs; INFO in the Worker sees them", async () => {
    const { status, body } = await call(workerd, "/bulk", {
      url: plain.url,
      n: "300",
      queue: "edge-bulk",
    });
    assert.equal(status, 200, JSON.stringify(body));
    const jids = body.jids as string[];
    assert.equal(new Set(jids).size, 300);
    const info = await call(workerd, "/info", { url: plain.url });
    assert.equal((info.body.queues as Record<string, number>)["edge-bulk"], 300);
    const jobs = await fetchAll(plain, "edge-bulk", 300);
    assert.deepEqual(jobs.map((j) => j.jid).sort(), [...jids].sort());
    assert.deepEqual(jobs.find((j) => j.jid === jids[7])?.args, [7, "bulk 7"]);
  });

  test("pushes over TLS (secureTransport on)", async () => {
    const { status, body } = await call(workerd, "/push", {
      url: tls.url,
      args: JSON.stringify(["over TLS"]),
      queue: "edge-tls",
    });
    assert.equal(status, 200, JSON.stringify(body));
    const jobs = await fetchAll(tls, "edge-tls", 1);
    assert.deepEqual(jobs.map((j) => [j.jid, j.args]), [[body.jid, ["over TLS"]]]);
  });

  test("Enterprise calls: BATCH NEW, COMMIT, STATUS, TRACK GET (test double: Faktory Enterprise)", async () => {
    await using double = await enterpriseDouble();
    const { status, body } = await call(workerd, "/enterprise", { url: double.url });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.bid, "b-edge");
    assert.equal((body.status as { total: number }).total, 1);
    assert.equal((body.tracking as { state: string }).state, "working");
    assert.deepEqual(double.received.map((line) => line.split(" ", 2).join(" ")), [
      "BATCH NEW",
      "BATCH COMMIT",
      "BATCH STATUS",
      "TRACK GET",
    ]);
  });

  test("a wrong password is an AuthenticationError that does not show it", async () => {
    const wrong = secured.url.replace(/:[^:@/]*@/, ":not-the-password@");
    const { status, body } = await call(workerd, "/push", { url: wrong });
    assert.equal(status, 500);
    const error = body.error as { name: string; message: string };
    assert.equal(error.name, "AuthenticationError");
    assert.match(error.message, /refused the password: check the password in the URL/);
    assert.ok(!error.message.includes("not-the-password"));
  });

  test("an unreachable server is a ConnectionError saying what to check", async () => {
    const port = await closedPort();
    const { status, body } = await call(workerd, "/push", { url: `tcp://127.0.0.1:${port}` });
    assert.equal(status, 500);
    const error = body.error as { name: string; message: string };
    assert.equal(error.name, "ConnectionError");
    assert.match(error.message, new RegExp(`Could not connect to 127\\.0\\.0\\.1:${port} \\(`));
    assert.match(error.message, /is Faktory running there/);
  });

  test("tls.caCerts is refused with a ValidationError: Workers cannot trust extra CAs", async () => {
    const { status, body } = await call(workerd, "/ca", { url: tls.url });
    assert.equal(status, 500);
    const error = body.error as { name: string; message: string };
    assert.equal(error.name, "ValidationError");
    assert.match(error.message, /cannot trust extra CA certificates/);
  });

  test("a client kept from another request fails with a clear ConnectionError", async () => {
    assert.equal((await call(workerd, "/keep", { url: plain.url })).status, 200);
    const { status, body } = await call(workerd, "/reuse");
    assert.equal(status, 500);
    const error = body.error as { name: string; message: string };
    assert.equal(error.name, "ConnectionError");
    assert.match(error.message, /opened while handling another request/);
  });

  test("password handshakes: wall and CPU time per handshake in workerd", async () => {
    // Local workerd lets Date.now() advance during computation (production
    // Workers do not, so there the Worker cannot time its own CPU work); the
    // CPU time is workerd's own, from /proc, around whole requests.
    const n = 10;
    const measure = async (server: FaktoryServer) => {
      const cpu = await cpuMs(workerd.pid);
      const { status, body } = await call(workerd, "/handshakes", { url: server.url, n: `${n}` });
      assert.equal(status, 200, JSON.stringify(body));
      const ms = body.ms as number[];
      assert.equal(ms.length, n);
      return {
        wall: ms.reduce((a, b) => a + b, 0) / n,
        cpu: ((await cpuMs(workerd.pid)) - cpu) / n,
      };
    };
    const withPassword = await measure(secured);
    const without = await measure(plain);
    const times = 5;
    const cpu = await cpuMs(workerd.pid);
    const hash = await call(workerd, "/hash", { n: "8095", times: `${times}` });
    const hashCpu = ((await cpuMs(workerd.pid)) - cpu) / times;
    assert.equal(hash.status, 200);
    const f = (x: number) => x.toFixed(1);
    // deno-lint-ignore no-console
    console.log(
      `workerd handshake, per connection: with a password ${f(withPassword.wall)} ms wall, ` +
        `${f(withPassword.cpu)} ms CPU; without ${f(without.wall)} ms wall, ` +
        `${f(without.cpu)} ms CPU; 8095 SHA-256 rounds alone ` +
        `${f(hash.body.ms as number / times)} ms wall, ${f(hashCpu)} ms CPU`,
    );
    assert.ok(withPassword.wall < 2_000, "well within the server's 2 s HELLO deadline");
  });

  test("the example Worker enqueues a job per request; a worker on Deno runs them", async () => {
    const example = await bundle(
      path.join(repoRoot(), "examples/cloudflare/src/worker.ts"),
      path.join(dir, "example.js"),
    );
    assert.deepEqual(example.imports, ["cloudflare:sockets", "cloudflare:workers"]);
    await using edge = await startWorkerd({
      script: example.file,
      bindings: { FAKTORY_URL: secured.url },
    });
    const jids: string[] = [];
    for (const page of ["/", "/pricing", "/about"]) {
      const response = await fetch(`${edge.url}${page}`, { headers: { "user-agent": "test" } });
      const body = await response.json() as { jid: string };
      assert.equal(response.status, 202, JSON.stringify(body));
      jids.push(body.jid);
    }
    const seen = new Map<string, unknown[]>();
    const worker = new Worker({ url: secured.url, queues: ["visits"], logger: silentLogger });
    worker.register("RecordVisit", (job) => void seen.set(job.jid, [...job.args]));
    const running = worker.run();
    try {
      await until(() => seen.size === 3, 15_000, "three RecordVisit jobs run");
    } finally {
      await worker.stop();
      await running;
    }
    assert.deepEqual([...seen.keys()].sort(), [...jids].sort());
    assert.deepEqual(seen.get(jids[1]!)?.slice(0, 2), ["/pricing", "test"]);

    // Faktory down: the example answers 503 with the library's message.
    await using down = await startWorkerd({
      script: example.file,
      bindings: {
        FAKTORY_URL: `tcp://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await closedPort()}`,
      },
    });
    const response = await fetch(down.url);
    const body = await response.json() as { error: { name: string; message: string } };
    assert.equal(response.status, 503);
    assert.equal(body.error.name, "ConnectionError");
    assert.ok(!body.error.message.includes(PASSWORD));
  });

  // The adapter's contract, as runtime_test.ts checks it for Deno, Bun and Node:
  // the Worker drives `cloudflareRuntime` against local node:net servers.
  describe("the cloudflare:sockets adapter", () => {
    const size = 32 * 1024 * 1024; // far beyond the kernel's socket buffers
    const socketCall = (route: string, port: number, n = 0) =>
      call(workerd, `/socket/${route}`, { port: `${port}`, n: `${n}` });
    type JsonError = { name: string; message: string; cause: string | null };

    test("(local echo server) bytes written come back unchanged", async () => {
      await using server = await serve((s) => s.on("data", (d: Uint8Array) => s.write(d)));
      const { body } = await socketCall("echo", server.port);
      assert.equal(body.text, "hello world");
    });

    test("(local server reading nothing for 1 s) a 32 MiB write waits, then arrives whole and in order", async () => {
      const received: Uint8Array[] = [];
      await using server = await serve((s) => {
        s.pause();
        s.on("data", (d: Uint8Array) => received.push(d));
        setTimeout(() => s.resume(), 1_000);
      });
      const { status, body } = await socketCall("write-waits", server.port, size);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.early, false, "the write resolved while nobody read");
      await until(() => received.reduce((n, c) => n + c.length, 0) >= size, 10_000, "all bytes");
      assertPattern(Buffer.concat(received), size);
    });

    test("(local server sending 32 MiB) nothing is read ahead; a slow reader gets every byte in order", async () => {
      let flushed = false;
      let flushedAtGo: boolean | undefined;
      await using server = await serve((s) => {
        s.write(pattern(size), () => (flushed = true));
        s.end();
        s.once("data", () => (flushedAtGo = flushed)); // "go": the Worker starts reading
      });
      const { status, body } = await socketCall("read-pulls", server.port);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(flushedAtGo, false, "workerd read ahead without bound");
      assert.deepEqual(body, { count: size, inOrder: true, afterEnd: null });
    });

    test("(local server that says bye) the data, then null, then writes fail", async () => {
      await using server = await serve((s) => s.end("bye\r\n"));
      const { body } = await socketCall("bye", server.port);
      assert.equal(body.text, "bye\r\n");
      assert.equal(body.end, null);
      assert.equal((body.late as JsonError).name, "ConnectionError");
    });

    test("close() is idempotent, ends pending reads, refuses writes and releases the socket", async () => {
      await using server = await serve((s) => s.resume());
      const { body } = await socketCall("close", server.port);
      assert.equal(body.pending, null);
      assert.equal(body.after, null);
      const late = body.late as JsonError;
      assert.equal(late.name, "ConnectionError");
      assert.match(late.message, new RegExp(`127\\.0\\.0\\.1:${server.port} is closed`));
      await until(() => server.accepted.size === 0, 5_000, "the server sees the socket closed");
    });

    test("(local server that never reads) close() rejects a write waiting for room and releases the socket", async () => {
      let received = 0;
      await using server = await serve((s) => s.pause().on("data", (d) => (received += d.length)));
      const { body } = await socketCall("close-write", server.port, size);
      assert.equal(body.early, false);
      assert.equal((body.error as JsonError).name, "ConnectionError");
      // Reading now, the server gets what the kernels held, then the end.
      for (const socket of server.accepted) socket.resume();
      await until(() => server.accepted.size === 0, 5_000, "the server sees the socket closed");
      assert.ok(received < size, `${received} bytes: the write went on after close()`);
    });

    test("(local server that resets the connection) reads and writes reject with ConnectionError", async () => {
      await using server = await serve((s) => s.once("data", () => s.resetAndDestroy()));
      const { body } = await socketCall("reset", server.port);
      const read = body.read as JsonError;
      assert.equal(read.name, "ConnectionError");
      assert.match(
        read.message,
        new RegExp(`^Connection to 127\\.0\\.0\\.1:${server.port} was lost`),
      );
      assert.notEqual(read.cause, null);
      assert.equal((body.write as JsonError).name, "ConnectionError");
      assert.equal(body.closed, true);
    });

    test("an already-aborted signal refuses to connect with ConnectionError or TimeoutError", async () => {
      await using server = await serve(() => {});
      const { body } = await socketCall("aborted", server.port);
      const where = `127.0.0.1:${server.port}`;
      assert.deepEqual(
        [body.aborted, body.timedOut].map((e) => [(e as JsonError).name, (e as JsonError).message]),
        [
          ["ConnectionError", `Connecting to ${where} was aborted`],
          ["TimeoutError", `Connecting to ${where} timed out`],
        ],
      );
      assert.equal(server.accepted.size, 0, "no connection was opened");
    });

    test("(local server that never answers a TLS hello) the signal's timeout ends the connect; the socket goes", async () => {
      await using server = await serve((s) => s.resume()); // reads the hello, never answers
      const { body } = await socketCall("tls-silent", server.port);
      assert.equal((body.error as JsonError).name, "TimeoutError");
      assert.ok((body.ms as number) < 2_000, `gave up after ${body.ms} ms`);
      await until(() => server.accepted.size === 0, 5_000, "the server sees the socket closed");
    });
  });
});

/** Bytes `i % 251`, as the Worker writes and checks them. */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

function assertPattern(bytes: Uint8Array, size: number): void {
  assert.equal(bytes.length, size);
  for (let i = 0; i < size; i++) {
    if (bytes[i] !== i % 251) assert.fail(`byte ${i} is ${bytes[i]}, not ${i % 251}`);
  }
}

/** A local server on a free port; `accepted` holds its open connections. */
async function serve(handler: (socket: net.Socket) => void) {
  const accepted = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted.add(socket);
    socket.on("error", () => {}).on("close", () => accepted.delete(socket));
    handler(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    async [Symbol.asyncDispose]() {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A port nothing listens on (freed at once). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Answers HELLO, then the four Enterprise commands the Worker sends, in order,
 * as Faktory Enterprise would; records each command line.
 */
async function enterpriseDouble() {
  const bulk = (text: string) => `$${new TextEncoder().encode(text).length}\r\n${text}\r\n`;
  const replies: Record<string, string> = {
    "BATCH NEW": bulk("b-edge"),
    "BATCH COMMIT": "+OK\r\n",
    "BATCH STATUS": bulk(JSON.stringify({ bid: "b-edge", total: 1, pending: 1, failed: 0 })),
    "TRACK GET": bulk(JSON.stringify({ jid: "0123456789ab", state: "working", percent: 50 })),
  };
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.setEncoding("utf8").write('+HI {"v":2}\r\n');
    let buffer = "";
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line.startsWith("HELLO ")) socket.write("+OK\r\n");
        else if (line === "END") socket.end();
        else {
          received.push(line);
          socket.write(replies[line.split(" ", 2).join(" ")] ?? "-ERR test double: unexpected\r\n");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    received,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

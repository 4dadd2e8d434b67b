import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Client, silentLogger, Worker, type WorkerState } from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";

/** What the web UI's Busy page buttons do. */
async function signalFromWebUi(server: FaktoryServer, wid: string, signal: WorkerState) {
  const res = await fetch(`${server.webUrl}/busy`, {
    method: "POST",
    body: new URLSearchParams({ wid, signal }),
    redirect: "manual",
  });
  await res.body?.cancel();
  assert.ok(res.status === 302 || res.status === 200, `web UI answered ${res.status}`);
}

describe("heartbeat on a real Faktory (web UI for quiet/terminate)", () => {
  let server: FaktoryServer;
  let client: Client;
  before(async () => {
    server = await startFaktory({ web: true });
    client = await Client.connect({ url: server.url, logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  test("the worker shows on the Busy page with its labels", async () => {
    const worker = new Worker({
      url: server.url,
      queues: ["hb-show"],
      labels: ["blue", "ts"],
      logger: silentLogger,
    });
    const running = worker.run();
    try {
      let page = "";
      await until(
        async () => {
          page = await (await fetch(`${server.webUrl}/busy`)).text();
          return page.includes(worker.wid);
        },
        10_000,
        "the wid listed",
      );
      assert.ok(page.includes("blue"), "labels are listed");
    } finally {
      await worker.stop();
      await running;
    }
  });

  test("quiet from the web UI reaches a busy worker: the heartbeat is not blocked by its job", async () => {
    let release!: () => void;
    const worker = new Worker({
      url: server.url,
      queues: ["hb-quiet"],
      concurrency: 1,
      heartbeatInterval: 500,
      logger: silentLogger,
    });
    let started = 0;
    worker.register("Hold", () => {
      started++;
      return new Promise<void>((r) => (release = r));
    });
    const states: WorkerState[] = [];
    worker.on("state", (s) => states.push(s));
    const connections = async () => (await client.info()).server.connections;
    const before = await connections();
    const running = worker.run();
    try {
      await client.push({ jid: crypto.randomUUID(), jobtype: "Hold", args: [], queue: "hb-quiet" });
      await until(() => started === 1);
      await signalFromWebUi(server, worker.wid, "quiet");
      await until(() => worker.status === "quiet", 3_000);
      assert.deepEqual(states, ["quiet"]);
      // Its fetcher closes once the FETCH it had sent comes back; the
      // heartbeat and reporting connections stay.
      await until(async () => (await connections()) === before + 2, 10_000, "the fetcher closed");
      release();
      await client.push({ jid: crypto.randomUUID(), jobtype: "Hold", args: [], queue: "hb-quiet" });
      assert.equal((await client.info()).faktory.queues["hb-quiet"], 1, "the job stays queued");
      assert.equal(started, 1, "a quiet worker fetches no more");
    } finally {
      release?.();
      await worker.stop();
      await running;
    }
  });

  test("terminate from the web UI stops the worker and run() resolves", async () => {
    const worker = new Worker({
      url: server.url,
      queues: ["hb-term"],
      heartbeatInterval: 500,
      logger: silentLogger,
    });
    const running = worker.run();
    await until(() => worker.status === "running");
    // The web UI can only signal a worker whose HELLO the server has seen.
    const busyPage = async () => await (await fetch(`${server.webUrl}/busy`)).text();
    await until(async () => (await busyPage()).includes(worker.wid), 10_000, "the wid listed");
    await signalFromWebUi(server, worker.wid, "terminate");
    await running;
    assert.equal(worker.status, "stopped");
  });
});

test("unknown worker leads to a fresh HELLO (test double: answers BEAT with unknown worker)", async () => {
  const hellos: string[] = [];
  let beats = 0;
  let hellosAtUnknown = 0;
  const sockets = new Set<net.Socket>();
  const double = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.write('+HI {"v":2}\r\n');
    let buffer = "";
    socket.on("data", (data) => {
      buffer += data.toString();
      for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (line.startsWith("HELLO ")) {
          hellos.push(line);
          socket.write("+OK\r\n");
        } else if (line.startsWith("BEAT ")) {
          if (++beats === 1) hellosAtUnknown = hellos.length;
          socket.write(beats === 1 ? "-ERR unknown worker w-test\r\n" : "+OK\r\n");
        } else if (line.startsWith("FETCH ")) {
          setTimeout(() => socket.writable && socket.write("$-1\r\n"), 200);
        } else if (line === "END") socket.end();
      }
    });
  });
  await new Promise<void>((r) => double.listen(0, "127.0.0.1", r));
  const { port } = double.address() as net.AddressInfo;
  const worker = new Worker({
    url: `tcp://127.0.0.1:${port}`,
    workerId: "w-test",
    fetchers: 1,
    heartbeatInterval: 100,
    logger: silentLogger,
  });
  worker.on("error", () => {});
  const running = worker.run();
  try {
    await until(() => beats >= 2);
    assert.ok(hellos.length > hellosAtUnknown, "a new HELLO followed the unknown worker reply");
    assert.ok(hellos.every((h) => JSON.parse(h.slice(6)).wid === "w-test"), "with the same wid");
  } finally {
    await worker.stop();
    await running;
    for (const s of sockets) s.destroy();
    await new Promise((r) => double.close(r));
  }
});

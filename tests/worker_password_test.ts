/**
 * Password handshakes: one that cannot meet the server's HELLO deadline
 * starts over. A worker with a password starts on few handshakes: the heartbeat's and
 * its first fetcher's. Its other connections open in the background, held
 * or refused here by a proxy in front of a real password-protected server,
 * so that the order is observed, not timed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthenticationError,
  Client,
  ConnectionError,
  silentLogger,
  Worker,
  type WorkerOptions,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { type Proxy, startProxy } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";

/** A promise and the function that resolves it. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("a password-protected worker's start", () => {
  let server: FaktoryServer;
  let client: Client;
  before(async () => {
    server = await startFaktory({ password: "start-secret" });
    client = await Client.connect({ url: server.url, logger: silentLogger });
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  test("runs its first job while its other connections cannot even get the greeting", async () => {
    await using proxy = await startProxy(server);
    // Heartbeat and first fetcher through; every later connection held.
    proxy.limit(2, "hold");
    const queue = "pw-first";
    await client.push({ jid: "pw-first-1", jobtype: "Gated", args: [], queue });
    const release = gate();
    const started: string[] = [];
    const worker = new Worker({
      url: proxy.url,
      concurrency: 10,
      queues: [queue],
      connectTimeout: 30_000,
      logger: silentLogger,
    });
    worker.register("Gated", async (job) => {
      started.push(job.jid);
      await release.opened;
    });
    const running = worker.run();
    try {
      await until(() => started.length === 1, 15_000, "the first job started");
      // The other fetchers try to connect meanwhile, and are held.
      await until(() => proxy.stats.held >= 1, 15_000, "a background connect held");
      assert.equal(proxy.stats.open, 2, "only the heartbeat and the first fetcher are connected");
      assert.equal(worker.busy, 1, "the first job runs while the others wait for the server");
      proxy.admitAll();
      release.open();
      // Every fetcher connects in the end: ten jobs run at once.
      const more = gate();
      worker.register("Many", () => more.opened);
      for (let i = 0; i < 10; i++) {
        await client.push({ jid: `pw-many-${i}`, jobtype: "Many", args: [], queue });
      }
      await until(() => worker.busy === 10, 20_000, "ten jobs running at once");
      more.open();
    } finally {
      release.open();
      await worker.stop();
      await running;
    }
  });

  /**
   * A worker behind `proxy` that lets its first two connections through (the
   * heartbeat's and the first fetcher's) and holds or refuses the rest, with
   * one job waiting in `queue`.
   */
  async function behindLimit(
    proxy: Proxy,
    how: "hold" | "refuse",
    queue: string,
    options: Pick<WorkerOptions, "concurrency" | "connectTimeout" | "backoff">,
  ) {
    proxy.limit(2, how);
    await client.push({ jid: `${queue}-1`, jobtype: "Quick", args: [], queue });
    const errors: Error[] = [];
    const done: string[] = [];
    const worker = new Worker({
      url: proxy.url,
      queues: [queue],
      logger: silentLogger,
      ...options,
    });
    worker.on("error", (e) => errors.push(e));
    worker.register("Quick", (job) => void done.push(job.jid));
    return { worker, running: worker.run(), errors, done };
  }

  test("its fetchers connect one after another: none waits for a hashing slot with its connectTimeout running", async () => {
    await using proxy = await startProxy(server);
    // Every connection after the first two is held, and given up at its connectTimeout.
    const { worker, running, errors, done } = await behindLimit(proxy, "hold", "pw-one-by-one", {
      concurrency: 10,
      connectTimeout: 2_000,
      backoff: { base: 10_000, max: 10_000 },
    });
    try {
      await until(() => done.length === 1, 15_000, "the first job ran");
      await until(() => errors.length >= 1, 15_000, "a held connect given up");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // The second fetcher and the reporting pool, not all nine fetchers at once.
      assert.ok(errors.length <= 2, `${errors.length} connects timed out together`);
    } finally {
      proxy.admitAll();
      await worker.stop();
      await running;
    }
  });

  test("a background connection that fails is reported and retried; the first job still runs", async () => {
    await using proxy = await startProxy(server);
    const queue = "pw-refused";
    const { worker, running, errors, done } = await behindLimit(proxy, "refuse", queue, {
      concurrency: 3,
      backoff: { base: 50, max: 200 },
    });
    try {
      await until(() => done.length === 1, 15_000, "the first job ran");
      await until(() => errors.length >= 1, 15_000, "a refused connect reported");
      assert.ok(errors.every((e) => e instanceof ConnectionError), String(errors));
      // The server takes connections again: the fetchers that failed connect.
      proxy.admitAll();
      const more = gate();
      worker.register("Slow", () => more.opened);
      for (let i = 0; i < 3; i++) {
        await client.push({ jid: `pw-slow-${i}`, jobtype: "Slow", args: [], queue });
      }
      await until(() => worker.busy === 3, 20_000, "three jobs running at once");
      more.open();
    } finally {
      await worker.stop();
      await running;
    }
    assert.ok(proxy.stats.cuts >= 1, "connections were refused");
  });

  test("a hash that would miss the server's 2 s HELLO deadline starts over on a new connection", async () => {
    await using proxy = await startProxy(server);
    // The first greeting comes after the server's deadline has passed: that
    // connection cannot say HELLO in time, whatever the hash costs.
    proxy.slow(2_100);
    const connecting = Client.connect({ url: proxy.url, logger: silentLogger });
    await until(() => proxy.stats.connections === 1, 5_000, "the first connect");
    proxy.slow(0);
    const late = await connecting;
    try {
      assert.equal(typeof (await late.info()).now, "string");
      assert.equal(proxy.stats.connections, 2, "one connection given up, one handshaken");
    } finally {
      await late.close();
    }
  });

  test("a wrong password: run rejects with the same AuthenticationError, no password shown", async () => {
    const wrong = server.url.replace(/:[^:@/]*@/, ":not-the-secret@");
    const worker = new Worker({ url: wrong, concurrency: 10, logger: silentLogger });
    const error = await worker.run().catch((e) => e);
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /refused the password: check the password in the URL/);
    assert.ok(!error.message.includes("not-the-secret"));
    assert.equal(worker.status, "stopped");
  });
});

/**
 * Network faults injected by a proxy in front of a real server: replies cut
 * at any byte, a stalled (half-open) link, a slow link, and random cuts
 * under load.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  ConnectionError,
  ProtocolError,
  silentLogger,
  TimeoutError,
  Worker,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { startProxy } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";
import { job, liveHeap, pushSurely, unhandledRejections, working } from "./harness/watch.ts";

const unhandled = unhandledRejections();

describe("network faults through a proxy", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  test("a reply cut at any byte rejects with ConnectionError, and the next command reconnects", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    for (const bytes of [0, 1, 2, 5, 9, 40, 200]) {
      proxy.cutNextReply(bytes);
      const error = await client.info().catch((e) => e);
      assert.ok(error instanceof ConnectionError, `cut after ${bytes} bytes: ${error}`);
      assert.ok(!(error instanceof ProtocolError));
    }
    assert.equal(typeof (await client.info()).now, "string");
    // A FETCH reply cut mid-job: the job is not lost, the server holds it reserved.
    const big = job("cut-fetch", { args: ["x".repeat(20_000)] });
    await client.push(big);
    proxy.cutNextReply(1000);
    await assert.rejects(client.fetch(["cut-fetch"]), ConnectionError);
    assert.ok((await working(server)).has(big.jid), "reserved: retried when the reservation ends");
    await client.ack(big.jid);
    assert.equal(proxy.stats.cuts, 8);
  });

  test("a stalled link (half-open peer) times commands and connects out, on idle connections too", async () => {
    await using proxy = await startProxy(server);
    const options = {
      url: proxy.url,
      commandTimeout: 400,
      connectTimeout: 400,
      logger: silentLogger,
    };
    await using client = await Client.connect(options);
    await using idle = await Client.connect(options);
    proxy.stall();
    let start = Date.now();
    const error = await client.push(job("stall")).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(Date.now() - start < 1_500);
    // A connection idle while the peer vanished: its next command finds out in time.
    start = Date.now();
    assert.ok((await idle.info().catch((e) => e)) instanceof TimeoutError);
    assert.ok(Date.now() - start < 1_500);
    // Connecting through the stalled link times out as well.
    start = Date.now();
    const connect = await Client.connect(options).catch((e) => e);
    assert.ok(connect instanceof TimeoutError, String(connect));
    assert.ok(Date.now() - start < 1_500);
    proxy.resume();
    await until(() => client.info().then(() => true, () => false), 10_000, "recovery");
    await until(() => idle.info().then(() => true, () => false), 10_000, "recovery");
  });

  test("a slow link delivers every reply to the right caller", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    proxy.slow(30);
    const jobs = Array.from({ length: 30 }, (_, i) => job("slow", { args: [i] }));
    await Promise.all(jobs.map((j) => client.push(j)));
    const fetched = await Promise.all(jobs.map(() => client.fetch(["slow"])));
    assert.deepEqual(
      fetched.map((j) => j?.args[0]).sort((a, b) => Number(a) - Number(b)),
      jobs.map((_, i) => i),
    );
    await Promise.all(fetched.map((j) => client.ack(j!.jid)));
  });

  test("random cuts under load: no job lost, no hang, no unhandled rejection, bounded memory", async () => {
    await using proxy = await startProxy(server);
    await using client = await Client.connect({ url: proxy.url, logger: silentLogger });
    const ran = new Map<string, number>();
    const worker = new Worker({
      url: proxy.url,
      queues: ["chaos"],
      concurrency: 20,
      heartbeatInterval: 1_000,
      logger: silentLogger,
    });
    worker.register("Chaos", () => {});
    worker.on("success", (j) => void ran.set(j.jid, (ran.get(j.jid) ?? 0) + 1));
    worker.on("error", () => {});
    const running = worker.run();
    // Faults start once the worker is up: run() gives up if it cannot connect at the start.
    const first = job("chaos", { jobtype: "Chaos" });
    await client.push(first);
    await until(() => ran.has(first.jid), 10_000, "worker up");
    const pushed: string[] = [];
    /**
     * Pushes `count` jobs of 8 KiB (50 in flight) and waits until they ran or
     * are reserved. Only their jids are kept: the payloads must not outlive the run.
     */
    const phase = async (count: number) => {
      const jids: string[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = Array.from(
          { length: 50 },
          () => job("chaos", { jobtype: "Chaos", args: ["x".repeat(8 * 1024)] }),
        );
        jids.push(...batch.map((j) => j.jid));
        await Promise.all(batch.map((j) => pushSurely(client, j)));
      }
      pushed.push(...jids);
      const settled = async () => {
        if (!jids.every((jid) => ran.has(jid))) {
          const reserved = await working(server);
          if (!jids.every((jid) => ran.has(jid) || reserved.has(jid))) return false;
        }
        const info = await client.info().catch(() => undefined);
        return info !== undefined && (info.faktory.queues["chaos"] ?? 0) === 0;
      };
      await until(settled, 40_000, "every job ran or is reserved");
    };
    try {
      proxy.chaos({ seed: 20240611, cutChance: 0.003 });
      await phase(1_000); // warm-up: what stays in memory after it is the baseline
      const before = liveHeap();
      await phase(3_000);
      proxy.chaos(undefined);
      // 3000 jobs of 8 KiB: keeping them would add 24 MiB.
      const growth = (liveHeap() - before) / 2 ** 20;
      const bound = 8;
      assert.ok(growth < bound, `heap grew ${growth.toFixed(1)} MiB (bound ${bound})`);
      assert.ok(proxy.stats.cuts >= 10, `${proxy.stats.cuts} cuts`);
      const reserved = await working(server);
      const lost = pushed.filter((jid) => !ran.has(jid) && !reserved.has(jid));
      assert.deepEqual(lost, [], "every job ran or waits in the server's reservations");
    } finally {
      await worker.stop();
      await running;
    }
    await until(() => proxy.stats.open <= 1, 5_000, "the worker's connections closed");
    assert.deepEqual(unhandled, []);
  });
});

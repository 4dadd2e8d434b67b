/**
 * Mutual TLS: a client certificate (`tls: { cert, key }`) presented to a
 * TLS proxy that requires one, in front of a real TLS Faktory
 * (tests/harness/mtls.ts), on Deno, Bun and Node. Certificates stay
 * verified: the proxy's own certificate must be trusted (`caCerts`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  ConnectionError,
  type JobPayload,
  Producer,
  randomJid,
  silentLogger,
  type TlsOptions,
  ValidationError,
  Worker,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { type Authority, type KeyPair, makeAuthority, startMtlsProxy } from "./harness/mtls.ts";
import { until } from "./harness/until.ts";

let server: FaktoryServer;
let ca: Authority & AsyncDisposable;
let stranger: Authority & AsyncDisposable;
let proxyCert: KeyPair;
let client: KeyPair;

before(async () => {
  [server, ca, stranger] = await Promise.all([
    startFaktory({ tls: true }),
    makeAuthority("faktory-ts test CA"),
    makeAuthority("someone else's CA"),
  ]);
  [proxyCert, client] = await Promise.all([
    ca.issue("localhost", "serverAuth"),
    ca.issue("worker-1", "clientAuth"),
  ]);
});
after(async () => {
  await server?.stop();
  await ca?.[Symbol.asyncDispose]();
  await stranger?.[Symbol.asyncDispose]();
});

const options = (url: string, tls: TlsOptions) => ({
  url,
  tls,
  logger: silentLogger,
  connectTimeout: 5_000,
});

describe("mutual TLS", () => {
  test("a client certificate gets a Client, a Producer and a Worker through a proxy that requires one", async () => {
    await using proxy = await startMtlsProxy(server, proxyCert, ca.cert);
    const tls = { caCerts: [ca.cert], ...client };
    await using c = await Client.connect(options(proxy.url, tls));
    const queue = `mtls-${randomJid().slice(0, 8)}`;
    const job: JobPayload = { jid: randomJid(), jobtype: "Mtls", args: [1], queue };
    await c.push(job);
    assert.equal((await c.fetch([queue]))?.jid, job.jid);
    await c.ack(job.jid);

    await using producer = await Producer.connect({ ...options(proxy.url, tls), poolSize: 1 });
    const jid = await producer.perform({ jobtype: "Mtls", queue }, [2]);
    const worker = new Worker({ ...options(proxy.url, tls), queues: [queue], concurrency: 1 });
    const ran: string[] = [];
    worker.register("Mtls", (j) => void ran.push(j.jid));
    const running = worker.run();
    await until(() => ran.length === 1, 15_000, "the job ran");
    await worker.stop();
    await running;
    assert.deepEqual(ran, [jid]);
    assert.ok(proxy.clients.length >= 4, `every connection presented it: ${proxy.clients}`);
    assert.ok(proxy.clients.every((cn) => cn === "worker-1"), String(proxy.clients));
    assert.equal(proxy.refused, 0);
  });

  test("without a client certificate, or with one from another CA, the connect fails", async () => {
    await using proxy = await startMtlsProxy(server, proxyCert, ca.cert);
    const foreign = await stranger.issue("intruder", "clientAuth");
    for (const tls of [{ caCerts: [ca.cert] }, { caCerts: [ca.cert], ...foreign }]) {
      const started = Date.now();
      await assert.rejects(Client.connect(options(proxy.url, tls)), (e: Error) => {
        assert.ok(e instanceof ConnectionError, `${e.name}: ${e.message}`);
        assert.ok(!e.message.includes("PRIVATE KEY"), e.message);
        return true;
      });
      assert.ok(Date.now() - started < 5_000, "refused, not timed out");
    }
    await until(() => proxy.refused === 2, 5_000, "the proxy refused both");
    assert.deepEqual(proxy.clients, []);
  });

  test("the proxy's certificate is still verified: a client that does not trust it fails", async () => {
    await using proxy = await startMtlsProxy(server, proxyCert, ca.cert);
    await assert.rejects(Client.connect(options(proxy.url, { ...client })), ConnectionError);
    assert.deepEqual(proxy.clients, []);
  });

  test("a certificate without its key (or a key without it) is a ValidationError that shows no key", async () => {
    const calls = [
      () => Client.connect(options(server.url, { cert: client.cert })),
      () => Client.connect(options(server.url, { key: client.key })),
      () => Producer.connect(options(server.url, { cert: client.cert, key: "" })),
      () =>
        Client.connect(options(server.url, { cert: client.cert, key: 42 as unknown as string })),
    ];
    for (const call of calls) {
      await assert.rejects(call(), (e: Error) => {
        assert.ok(e instanceof ValidationError, `${e.name}: ${e.message}`);
        assert.match(e.message, /tls\.(cert|key)/);
        assert.ok(!e.message.includes("PRIVATE KEY"), e.message);
        return true;
      });
    }
    assert.throws(() => new Worker(options(server.url, { key: client.key })), ValidationError);
  });
});

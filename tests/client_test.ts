import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthenticationError,
  Client,
  ConnectionError,
  type JobPayload,
  randomJid,
  ServerError,
  silentLogger,
  TimeoutError,
  ValidationError,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { freePort, stallingServer } from "./harness/doubles.ts";
import { jobsIn } from "./harness/redis.ts";

const job = (extra: Partial<JobPayload> = {}): JobPayload => ({
  jid: randomJid(),
  jobtype: "Test",
  args: [1, "two", { three: 3 }],
  ...extra,
});

describe("client on a real Faktory", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  test("push, fetch and ack a job; args survive the round trip", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    await client.flush();
    const pushed = job({ queue: "roundtrip", custom: { trace: "abc" } });
    assert.equal(await client.push(pushed), pushed.jid);
    const fetched = await client.fetch(["roundtrip"]);
    assert.ok(fetched);
    assert.equal(fetched.jid, pushed.jid);
    assert.deepEqual(fetched.args, pushed.args);
    assert.deepEqual(fetched.custom, { trace: "abc" });
    assert.equal(fetched.queue, "roundtrip");
    assert.ok(fetched.enqueued_at);
    await client.ack(fetched.jid);
    assert.equal((await client.info()).faktory.queues["roundtrip"] ?? 0, 0);
  });

  test("fetch returns null after the server's wait on empty queues", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const start = Date.now();
    assert.equal(await client.fetch(["empty-queue"]), null);
    assert.ok(Date.now() - start >= 1500, "the server waited before answering");
  });

  test("fetch takes queues in strict order", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    await client.push(job({ queue: "strict-low" }));
    const high = job({ queue: "strict-high" });
    await client.push(high);
    assert.equal((await client.fetch(["strict-high", "strict-low"]))?.jid, high.jid);
    assert.equal((await client.fetch(["strict-high", "strict-low"]))?.queue, "strict-low");
  });

  test("pushBulk pushes all and returns the server's per-jid rejections", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const good = [job({ queue: "bulk" }), job({ queue: "bulk" })];
    assert.deepEqual(await client.pushBulk(good), {});
    assert.equal((await client.info()).faktory.queues["bulk"], 2);
    const bad = job({ queue: "bulk", at: "2030-01-01" });
    const refused = await client.pushBulk([job({ queue: "bulk" }), bad]);
    assert.deepEqual(Object.keys(refused), [bad.jid]);
    assert.match(refused[bad.jid]!, /.+/);
    assert.deepEqual(await client.pushBulk([]), {});
  });

  test("a job pushed without retry gets 25 retries even after a job with retry -1 (server default bug)", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    await client.push(job({ queue: "retry-default", retry: -1 }));
    const plain = job({ queue: "retry-default" });
    await client.push(plain);
    await client.fetch(["retry-default"]);
    const fetched = await client.fetch(["retry-default"]);
    assert.equal(fetched?.jid, plain.jid);
    assert.equal(fetched?.retry, 25);
  });

  test("fail puts the job in the retry set with errtype, message and backtrace", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const pushed = job({ queue: "failing" });
    await client.push(pushed);
    const fetched = await client.fetch(["failing"]);
    assert.equal(fetched?.jid, pushed.jid);
    class PrinterOnFire extends Error {
      override name = "PrinterOnFire";
    }
    await client.fail(pushed.jid, new PrinterOnFire("lp0 on fire"));
    const retry = (await jobsIn(server, "retries")).find((j) => j.jid === pushed.jid);
    assert.ok(retry, "the job is in the retry set");
    const failure = retry.failure as Record<string, unknown>;
    assert.equal(failure.errtype, "PrinterOnFire");
    assert.equal(failure.message, "lp0 on fire");
    assert.ok(
      Array.isArray(failure.backtrace) && failure.backtrace.length > 0,
      "backtrace lines are kept",
    );
  });

  test("beat answers null for a running worker; beat needs a wid", async () => {
    await using worker = await Client.connect({
      url: server.url,
      wid: "beat-test-1",
      logger: silentLogger,
    });
    assert.equal(await worker.beat(), null);
    await using producer = await Client.connect({ url: server.url, logger: silentLogger });
    await assert.rejects(producer.beat(), ValidationError);
  });

  test("info is typed and reports the server", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const info = await client.info();
    assert.equal(info.server.faktory_version, server.version);
    assert.equal(typeof info.server.connections, "number");
    assert.equal(typeof info.faktory.total_processed, "number");
    assert.equal(typeof info.faktory.queues, "object");
  });

  test("flush empties every queue", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    await client.push(job({ queue: "to-flush" }));
    await client.flush();
    assert.equal((await client.info()).faktory.queues["to-flush"] ?? 0, 0);
  });

  test("an error reply becomes a ServerError with its code", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const error = await client.send(new TextEncoder().encode("BOGUS\r\n"), "BOGUS").catch((e) => e);
    assert.ok(error instanceof ServerError);
    assert.equal(error.code, "ERR");
    assert.match(error.message, /.+/);
    // The connection is still usable afterwards.
    assert.equal(typeof (await client.info()).now, "string");
  });

  test("many concurrent commands on one connection never interleave", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const jobs = Array.from({ length: 200 }, (_, i) => job({ queue: "concurrent", args: [i] }));
    await Promise.all(jobs.map((j) => client.push(j)));
    const fetched = await Promise.all(jobs.map(() => client.fetch(["concurrent"])));
    assert.deepEqual(
      fetched.map((j) => j?.args[0]).sort((a, b) => Number(a) - Number(b)),
      jobs.map((_, i) => i),
    );
    await Promise.all(fetched.map((j) => client.ack(j!.jid)));
  });

  test("a queue name with a space or CRLF is refused before anything is sent", async () => {
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    const before = (await client.info()).server.command_count;
    await assert.rejects(client.push(job({ queue: "a b" })), ValidationError);
    await assert.rejects(client.push(job({ queue: "x\r\nFLUSH" })), ValidationError);
    await assert.rejects(client.fetch(["ok", "bad queue"]), ValidationError);
    await assert.rejects(client.ack(""), ValidationError);
    await assert.rejects(client.push(job({ args: [1n] as unknown[] })), /BigInt/);
    // Only the INFO calls themselves reached the server.
    assert.equal((await client.info()).server.command_count, before + 1);
  });

  test("the namespace prefixes queues on push and fetch", async () => {
    const url = `${server.url}/ns.`;
    await using client = await Client.connect({ url, logger: silentLogger });
    await using plain = await Client.connect({ url: server.url, logger: silentLogger });
    const pushed = job({ queue: "spaced" });
    await client.push(pushed);
    assert.equal((await plain.info()).faktory.queues["ns.spaced"], 1);
    const fetched = await client.fetch(["spaced"]);
    assert.equal(fetched?.jid, pushed.jid);
    assert.equal(fetched?.queue, "spaced");
    await client.ack(pushed.jid);
  });

  test("a connection lost mid-command rejects that command with ConnectionError", async () => {
    await using own = await startFaktory();
    await using client = await Client.connect({ url: own.url, logger: silentLogger });
    const fetching = client.fetch(["nothing-here"]).catch((e) => e);
    await new Promise((r) => setTimeout(r, 200));
    await own.kill();
    assert.ok((await fetching) instanceof ConnectionError);
    await own.restart();
    // The next command connects again.
    assert.equal(typeof (await client.info()).now, "string");
  });

  test("destroy rejects a FETCH under way at once and refuses later commands", async () => {
    const client = await Client.connect({ url: server.url, logger: silentLogger });
    const fetching = client.fetch(["nothing-here"]).catch((e) => e);
    const start = Date.now();
    client.destroy();
    assert.ok((await fetching) instanceof ConnectionError);
    assert.ok(Date.now() - start < 1_000, "without waiting for the server's FETCH wait");
    await assert.rejects(client.info(), ConnectionError);
    await client.close();
  });

  test("close sends END and later commands are refused", async () => {
    const client = await Client.connect({ url: server.url, logger: silentLogger });
    await client.close();
    await assert.rejects(client.info(), ConnectionError);
  });
});

describe("client handshakes", () => {
  test("password: the right one connects, a wrong or missing one is an AuthenticationError", async () => {
    await using server = await startFaktory({ password: "correct horse" });
    await using client = await Client.connect({ url: server.url, logger: silentLogger });
    assert.equal(typeof (await client.info()).now, "string");
    const wrong = server.url.replace(/:[^:@/]*@/, ":wrong@");
    const error = await Client.connect({ url: wrong, logger: silentLogger }).catch((e) => e);
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, /refused the password/);
    assert.ok(!error.message.includes("wrong"), "the password is not in the message");
    const none = `tcp://${server.host}:${server.port}`;
    const missing = await Client.connect({ url: none, logger: silentLogger }).catch((e) => e);
    assert.ok(missing instanceof AuthenticationError);
    assert.match(missing.message, /requires a password/);
  });

  test("password: twenty connections opened at once all succeed", async () => {
    await using server = await startFaktory({ password: "many at once" });
    const start = Date.now();
    // Deno and Node hash one chain at a time, so the last connect waits for
    // 19 others: seconds on a loaded machine (over 10 s, the default
    // connectTimeout, with two busy processes beside). What must not happen
    // is a HELLO past the server's 2 s deadline.
    const clients = await Promise.all(
      Array.from(
        { length: 20 },
        () => Client.connect({ url: server.url, connectTimeout: 30_000, logger: silentLogger }),
      ),
    );
    const elapsed = Date.now() - start;
    // deno-lint-ignore no-console
    console.log(`20 password handshakes at once took ${elapsed} ms`);
    const infos = await Promise.all(clients.map((c) => c.info()));
    assert.equal(infos.length, 20);
    await Promise.all(clients.map((c) => c.close()));
  });

  test("TLS: verified with the server's CA, refused without it", async () => {
    await using server = await startFaktory({ tls: true });
    await using client = await Client.connect({
      url: server.url,
      tls: { caCerts: [server.caCert!] },
      logger: silentLogger,
    });
    const pushed = job({ queue: "tls" });
    await client.push(pushed);
    assert.equal((await client.fetch(["tls"]))?.jid, pushed.jid);
    const untrusted = await Client.connect({
      url: server.url,
      connectTimeout: 3000,
      logger: silentLogger,
    })
      .catch((e) => e);
    assert.ok(untrusted instanceof ConnectionError, String(untrusted));
  });

  test("TLS to a plain port and plain to a TLS port fail within the connect timeout", async () => {
    await using plain = await startFaktory();
    await using secure = await startFaktory({ tls: true });
    const start = Date.now();
    const tlsToPlain = await Client.connect({
      url: plain.url.replace("tcp://", "tcp+tls://"),
      connectTimeout: 3000,
      logger: silentLogger,
    }).catch((e) => e);
    assert.ok(tlsToPlain instanceof ConnectionError, String(tlsToPlain));
    const plainToTls = await Client.connect({
      url: `tcp://${secure.host}:${secure.port}`,
      connectTimeout: 3000,
      logger: silentLogger,
    }).catch((e) => e);
    assert.ok(plainToTls instanceof ConnectionError, String(plainToTls));
    assert.match(plainToTls.message, /tcp\+tls/);
    assert.ok(Date.now() - start < 7000, "both failed within their connect timeouts");
  });

  test("connection refused is a ConnectionError naming the address", async () => {
    const port = await freePort();
    const error = await Client.connect({ url: `tcp://127.0.0.1:${port}`, logger: silentLogger })
      .catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test("a server that never greets (test double: stalls) times out with a hint", async () => {
    await using stall = await stallingServer(false);
    const start = Date.now();
    const error = await Client.connect({
      url: `tcp://127.0.0.1:${stall.port}`,
      connectTimeout: 500,
      logger: silentLogger,
    }).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /greeting/);
    assert.ok(Date.now() - start < 2000);
  });

  test("a command with no reply (test double: stalls after HELLO) times out and closes", async () => {
    await using stall = await stallingServer(true);
    await using client = await Client.connect({
      url: `tcp://127.0.0.1:${stall.port}`,
      commandTimeout: 300,
      logger: silentLogger,
    });
    const error = await client.info().catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /INFO got no reply/);
  });

  test("a bad URL is refused before connecting, with the password masked", async () => {
    const error = await Client.connect({ url: "tcp://:hunter2@localhost" }).catch((e) => e);
    assert.ok(error instanceof ValidationError);
    assert.ok(!error.message.includes("hunter2"));
  });
});

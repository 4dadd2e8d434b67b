/**
 * Security: no argument can add a command, the password never leaks, and
 * TLS checks the server's name.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  AuthenticationError,
  Client,
  ConnectionError,
  silentLogger,
  TimeoutError,
  ValidationError,
  Worker,
} from "../mod.ts";
import { mutate } from "../src/protocol/command.ts";
import { freePort, stallingServer } from "./harness/doubles.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { until } from "./harness/until.ts";
import { capturingLogger, job, sleep } from "./harness/watch.ts";

describe("security", () => {
  let server: FaktoryServer;
  before(async () => {
    server = await startFaktory();
  });
  after(() => server.stop());

  const evil = ["a b", "a\rb", "a\nb", "x\r\nFLUSH", " ", ""];

  test("no argument can add a command: spaces, CR and LF are refused or escaped", async () => {
    await using client = await Client.connect({
      url: server.url,
      labels: ["label with space", "x\r\nFLUSH"], // JSON in HELLO: escaped, harmless
      logger: silentLogger,
    });
    const sentinel = job("sentinel");
    await client.push(sentinel);
    const count = async () => (await client.info()).server.command_count;
    const before = await count();
    for (const bad of evil) {
      const refused: [string, () => Promise<unknown>][] = [
        ["push queue", () => client.push(job(bad))],
        ["push jid", () => client.push({ ...job("q"), jid: bad })],
        ["fetch", () => client.fetch(["ok", bad])],
        ["pause", () => client.pauseQueues([bad])],
        ["resume", () => client.resumeQueues([bad])],
        ["remove", () => client.removeQueues([bad])],
        ["latency", () => client.queueLatency([bad])],
        ["mutate jids", () => client.discard("retries", { jids: [bad] })],
        ["batch open", () => client.openBatch(bad)],
        ["batch commit", () => client.commitBatch(bad)],
        ["batch status", () => client.batchStatus(bad)],
        ["track get", () => client.getTracking(bad)],
      ];
      for (const [what, call] of refused) {
        await assert.rejects(call(), ValidationError, `${what} with ${JSON.stringify(bad)}`);
      }
      const options: [string, () => unknown][] = [
        ["worker queues", () => new Worker({ url: server.url, queues: [bad] })],
        ["worker weights", () => new Worker({ url: server.url, weights: { [bad]: 1 } })],
        ["worker id", () => new Worker({ url: server.url, workerId: bad })],
        ["client wid", () => Client.connect({ url: server.url, wid: bad })],
        ["namespace", () => Client.connect({ url: server.url, namespace: bad })],
      ];
      for (const [what, make] of options) {
        await assert.rejects(
          async () => await make(),
          ValidationError,
          `${what} ${JSON.stringify(bad)}`,
        );
      }
    }
    // None of that reached the server: only the INFO below did.
    assert.equal(await count(), before + 1);
    // ACK and FAIL take any jid the server handed out, so only an empty one is
    // refused; the others travel inside the JSON payload, one command each.
    await assert.rejects(client.ack(""), ValidationError);
    await assert.rejects(client.fail("", new Error("x")), ValidationError);
    for (const bad of evil.filter((b) => b !== "")) {
      const was = await count();
      await client.ack(bad);
      await client.fail(bad, new Error("x")).catch(() => {}); // an unknown jid: the server's error
      assert.equal(
        await count(),
        was + 3,
        `ack and fail of ${JSON.stringify(bad)}: one command each`,
      );
    }
    // Free text (MUTATE patterns and jobtypes) travels as one escaped JSON word.
    for (const bad of evil.filter((b) => b.trim() !== "")) {
      await client.discard("retries", { pattern: `*${bad}*`, jobtype: bad });
      const line = new TextDecoder().decode(mutate({ cmd: "discard", filter: { regexp: bad } }));
      assert.equal(line.indexOf("\r\n"), line.length - 2, "one line");
      assert.equal(line.slice(0, -2).split(" ").length, 2, "MUTATE and one JSON word");
    }
    assert.equal((await client.info()).faktory.queues["sentinel"], 1, "nothing was flushed");
  });

  test("the password never appears in a log line, an error, or a printed client or worker", async () => {
    const password = "s3cr3t-Pa55";
    const wrong = "wr0ng-Pa55";
    await using secured = await startFaktory({ password });
    const logger = capturingLogger();
    const texts: string[] = [];
    const keep = (e: unknown) => {
      for (let c = e; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause) {
        texts.push(String(c), (c as Error).stack ?? "", inspect(c, { depth: 5 }));
      }
      return e;
    };
    const withPassword = (pw: string, port: number) => `tcp://:${pw}@127.0.0.1:${port}`;
    // Refused password, nothing listening, a server that never greets.
    const refused = await Client.connect({ url: withPassword(wrong, secured.port), logger })
      .catch(keep);
    assert.ok(refused instanceof AuthenticationError);
    keep(
      await Client.connect({ url: withPassword(password, await freePort()), logger }).catch((e) =>
        e
      ),
    );
    await using silent = await stallingServer();
    const timedOut = await Client.connect({
      url: withPassword(password, silent.port),
      connectTimeout: 300,
      logger,
    }).catch(keep);
    assert.ok(timedOut instanceof TimeoutError);
    // A working client and worker through a restart.
    await using client = await Client.connect({ url: secured.url, logger });
    texts.push(
      String(client),
      inspect(client, { depth: 5, showHidden: true }),
      JSON.stringify(client),
    );
    await using worker = new Worker({
      url: secured.url,
      queues: ["pw"],
      heartbeatInterval: 1_000,
      logger,
    });
    texts.push(
      String(worker),
      inspect(worker, { depth: 5, showHidden: true }),
      JSON.stringify(worker),
    );
    let done = 0;
    worker.register("Pw", () => void done++);
    worker.on("error", keep);
    const running = worker.run();
    await client.push(job("pw", { jobtype: "Pw" }));
    await until(() => done === 1, 10_000, "job ran");
    await secured.kill();
    keep(await client.info().catch((e) => e));
    await sleep(1_500);
    await secured.restart();
    // Pushed again until the client has reconnected; each failure is checked too.
    const pushed = () => client.push(job("pw", { jobtype: "Pw" })).then(() => true, keep);
    await until(async () => (await pushed()) === true, 20_000, "a push after the restart");
    await until(() => done >= 2, 20_000, "job ran after restart");
    await worker.stop();
    await running;
    await client.close();
    texts.push(...logger.lines);
    assert.ok(logger.lines.length > 0 && texts.length > 10);
    for (const text of texts) {
      assert.ok(!text.includes(password), `password in: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(wrong), `wrong password in: ${text.slice(0, 300)}`);
    }
  });

  test("TLS: a certificate for another host name is refused with a clear error", async () => {
    await using tls = await startFaktory({ tls: true });
    const error = await Client.connect({
      url: tls.url,
      tls: { caCerts: [tls.caCert!], serverName: "not-the-server.example" },
      connectTimeout: 3_000,
      logger: silentLogger,
    }).catch((e) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /TLS handshake .* failed/);
    // The same CA with the right name works.
    await using ok = await Client.connect({
      url: tls.url,
      tls: { caCerts: [tls.caCert!] },
      logger: silentLogger,
    });
    assert.equal(typeof (await ok.info()).now, "string");
  });
});

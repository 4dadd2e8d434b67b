/**
 * A user name in the URL (`tcp://user:pass@host`) is sent in HELLO, as Go's
 * and Ruby's clients send it (Faktory 1.9.4 and 1.10.0 read the field and
 * ignore it: it is for a proxy in front of the server). It is userinfo, so
 * it never appears in a message, as the password never does.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthenticationError,
  Client,
  type Logger,
  Producer,
  silentLogger,
  ValidationError,
  Worker,
} from "../mod.ts";
import { maskUrl, parseUrl } from "../src/settings.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { type Proxy, startProxy } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";

const USER = "ada.lovelace";
const PASSWORD = "engine-1843";

let server: FaktoryServer;
let proxy: Proxy;
/** Every HELLO line clients sent through the proxy. */
const hellos: Record<string, unknown>[] = [];

before(async () => {
  server = await startFaktory({ password: PASSWORD });
  proxy = await startProxy(server);
  let buffer = "";
  proxy.tap((chunk) => {
    buffer += new TextDecoder().decode(chunk);
    for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line.startsWith("HELLO ")) hellos.push(JSON.parse(line.slice(6)));
    }
  });
});
after(async () => {
  await proxy?.stop();
  await server?.stop();
});

const at = () => `127.0.0.1:${proxy.port}`;

describe("a user name in the URL", () => {
  test("is sent in HELLO with the password's hash, and the server lets the client in", async () => {
    hellos.length = 0;
    await using client = await Client.connect({
      url: `tcp://${USER}:${PASSWORD}@${at()}`,
      logger: silentLogger,
    });
    await client.info();
    assert.equal(hellos.length, 1);
    assert.equal(hellos[0]!.username, USER);
    assert.match(String(hellos[0]!.pwdhash), /^[0-9a-f]{64}$/);
  });

  test("percent-encoded, is sent decoded; the username option overrides it; a worker sends it on every connection", async () => {
    hellos.length = 0;
    await using client = await Client.connect({
      url: `tcp://ada%40example.com:${PASSWORD}@${at()}`,
      logger: silentLogger,
    });
    await using producer = await Producer.connect({
      url: `tcp://${USER}:${PASSWORD}@${at()}`,
      username: "grace",
      poolSize: 1,
      logger: silentLogger,
    });
    assert.deepEqual(hellos.map((h) => h.username), ["ada@example.com", "grace"]);
    void client;
    void producer;

    hellos.length = 0;
    const worker = new Worker({
      url: `tcp://${USER}:${PASSWORD}@${at()}`,
      queues: ["username-test"],
      concurrency: 2,
      logger: silentLogger,
    });
    const running = worker.run();
    await until(() => hellos.length >= 4, 10_000, "the worker's connections said HELLO");
    await worker.stop();
    await running;
    assert.ok(hellos.every((h) => h.username === USER && h.wid === worker.wid), "every one");
  });

  test("without one, HELLO has no username field; a user name alone needs no password", async () => {
    hellos.length = 0;
    await using client = await Client.connect({
      url: `tcp://:${PASSWORD}@${at()}`,
      logger: silentLogger,
    });
    void client;
    assert.equal(hellos.length, 1);
    assert.ok(!("username" in hellos[0]!), JSON.stringify(hellos[0]));
    assert.deepEqual(
      { ...parseUrl("tcp://ada@localhost:7419") },
      {
        hostname: "localhost",
        port: 7419,
        tls: false,
        password: undefined,
        namespace: undefined,
        username: "ada",
      },
    );
  });

  test("never appears in a message or a log line", async () => {
    const lines: string[] = [];
    const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    // A wrong password: refused, and the message names neither secret.
    await assert.rejects(
      Client.connect({ url: `tcp://${USER}:wrong@${at()}`, logger }),
      (e: Error) => {
        assert.ok(e instanceof AuthenticationError, e.message);
        assert.ok(!e.message.includes(USER), e.message);
        return true;
      },
    );
    // Malformed URLs: the message shows the URL masked.
    for (const url of [`tcp://${USER}:pw@localhost`, `tcp://${USER}@localhost:port`]) {
      assert.throws(() => parseUrl(url), (e: Error) => {
        assert.ok(e instanceof ValidationError);
        assert.ok(!e.message.includes(USER), e.message);
        return true;
      });
    }
    assert.equal(maskUrl(`tcp://${USER}:${PASSWORD}@${at()}`), `tcp://***@${at()}`);
    assert.equal(maskUrl(`tcp://${USER}@${at()}`), `tcp://***@${at()}`);
    // A bad username option is refused without showing it.
    assert.throws(
      () => new Worker({ url: server.url, username: 42 as unknown as string }),
      (e: Error) => e instanceof ValidationError && !e.message.includes("42"),
    );
    assert.ok(lines.every((l) => !l.includes(USER)), lines.join("\n"));
  });
});

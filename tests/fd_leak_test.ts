/**
 * No failure leaks a socket: the open descriptors of this process
 * (/proc/self/fd, Linux) come back to their count after many failed connects
 * and lost connections of each kind, over plain TCP and TLS, on the runtime
 * that runs the test.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  AuthenticationError,
  Client,
  type ClientOptions,
  ConnectionError,
  FaktoryError,
  ProtocolError,
  randomJid,
  silentLogger,
  TimeoutError,
} from "../mod.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { type Child, runtimeCommand, startChild } from "./harness/child.ts";
import { until } from "./harness/until.ts";

const ATTEMPTS = 50;
/** Descriptors a runtime may open or close on its own meanwhile (timers, caches). */
const SLACK = 3;

const openFds = () => readdirSync("/proc/self/fd").length;

/** Runs `attempt` ATTEMPTS times (ten at a time); each must fail with a library error. */
async function failMany(attempt: () => Promise<unknown>, expected: typeof FaktoryError) {
  for (let i = 0; i < ATTEMPTS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, async () => {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof expected, `expected ${expected.name}, got ${error}`);
    }));
  }
}

/** A connect that must fail; a client that connects anyway is closed. */
async function connect(options: ClientOptions): Promise<void> {
  const client = await Client.connect({ logger: silentLogger, connectTimeout: 300, ...options });
  await client.close();
}

/** Fails `attempt` many times, then waits for the descriptors to return to where they were. */
async function noLeak(attempt: () => Promise<unknown>, expected: typeof FaktoryError) {
  await attempt().catch(() => {}); // the first use may open lasting descriptors (certificates, DNS)
  const baseline = openFds();
  await failMany(attempt, expected);
  let now = openFds();
  await until(
    () => (now = openFds()) <= baseline + SLACK,
    5_000,
    `${ATTEMPTS} failures: open descriptors back to ${baseline} (now ${now})`,
  ).catch((e: Error) => assert.fail(`${e.message}; ${now - baseline} leaked`));
}

type Fake = "silent" | "badGreeting" | "stallingReply" | "silentTls" | "deafTls";

describe("no descriptor leaks", () => {
  let tlsServer: FaktoryServer;
  let passwordServer: FaktoryServer;
  let fakes: Child;
  let ports: Record<Fake, number>;
  let closedPort: number;
  /** The URL of a fake, with a password if given. */
  const fake = (name: Fake, password?: string) =>
    `tcp://${password === undefined ? "" : `:${password}@`}127.0.0.1:${ports[name]}`;

  before(async () => {
    [tlsServer, passwordServer] = await Promise.all([
      startFaktory({ tls: true }),
      startFaktory({ password: "fd-leak-pw" }),
    ]);
    // The fakes run in a process of their own, the TLS ones with the real server's certificate.
    const pem = (name: string) => path.join(tlsServer.dir, "conf", name);
    const [command, args] = runtimeCommand("tests/fixtures/hostile_fakes.ts");
    fakes = startChild(command, [...args, pem("private.key.pem"), pem("public.cert.pem")]);
    ports = JSON.parse((await fakes.waitFor((lines) => lines.length > 0))[0]!);
    const spare = net.createServer();
    await new Promise<void>((resolve) => spare.listen(0, "127.0.0.1", resolve));
    closedPort = (spare.address() as net.AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
  });

  after(async () => {
    await fakes?.[Symbol.asyncDispose]();
    await Promise.all([tlsServer?.stop(), passwordServer?.stop()]);
  });

  const viaTls = (name: Fake) => ({
    url: fake(name),
    tls: { caCerts: [tlsServer.caCert!], serverName: "localhost" },
  });

  test("(test double: a silent peer) connect timeouts, plain and TLS", async () => {
    await noLeak(() => connect({ url: fake("silent") }), TimeoutError);
    await noLeak(() => connect({ url: fake("silent"), tls: true }), TimeoutError);
  });

  test("(test double: a silent peer) aborted connects, plain and TLS", async () => {
    const options = { url: fake("silent"), connectTimeout: 60_000 };
    await noLeak(() => connect({ ...options, signal: AbortSignal.timeout(50) }), ConnectionError);
    await noLeak(
      () => connect({ ...options, tls: true, signal: AbortSignal.timeout(50) }),
      FaktoryError,
    );
  });

  test("refused connects, plain and TLS", async () => {
    await noLeak(() => connect({ url: `tcp://127.0.0.1:${closedPort}` }), ConnectionError);
    await noLeak(() => connect({ url: `tcp+tls://127.0.0.1:${closedPort}` }), ConnectionError);
  });

  test("TLS errors: an untrusted certificate, and (test double) a peer that is not TLS", async () => {
    await noLeak(() => connect({ url: tlsServer.url }), ConnectionError);
    await noLeak(() => connect({ url: fake("badGreeting"), tls: true }), ConnectionError);
  });

  test("handshake errors: a wrong password, and (test double) a bad or no greeting, plain and TLS", async () => {
    const wrong = passwordServer.url.replace("fd-leak-pw", "wrong-pw");
    // Hashing takes up to 0.5 s, four at once: time enough to hear the refusal.
    await noLeak(() => connect({ url: wrong, connectTimeout: 30_000 }), AuthenticationError);
    await noLeak(() => connect({ url: fake("badGreeting", "pw") }), ProtocolError);
    await noLeak(() => connect(viaTls("silentTls")), TimeoutError);
  });

  test("(test double: a reply that stalls) connections lost after a command timed out", async () => {
    await noLeak(async () => {
      const client = await Client.connect({
        url: fake("stallingReply"),
        commandTimeout: 200,
        logger: silentLogger,
      });
      try {
        await client.info();
      } finally {
        await client.close();
      }
    }, TimeoutError);
  });

  test("(test double: a TLS peer that stops reading) connections whose writes block", async () => {
    const big = "x".repeat(4 * 1024 * 1024); // more than the kernel's buffers hold
    await noLeak(async () => {
      const client = await Client.connect({
        ...viaTls("deafTls"),
        commandTimeout: 300,
        logger: silentLogger,
      });
      try {
        await client.push({ jid: randomJid(), jobtype: "Big", args: [big] });
      } finally {
        await client.close();
      }
    }, TimeoutError);
  });
});

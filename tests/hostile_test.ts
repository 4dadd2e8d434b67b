/**
 * A hostile or broken server: bad greetings, bad replies, stalls and cuts,
 * from the scripted fake of tests/harness/hostile.ts. Each must end in a
 * typed, clear error within the documented timeout, and a hostile server must
 * not slow down connections to a healthy one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  type ClientOptions,
  ConnectionError,
  FaktoryError,
  ProtocolError,
  silentLogger,
  TimeoutError,
} from "../mod.ts";
import { hashConcurrency } from "../src/connect.ts";
import { startFaktory } from "./harness/faktory.ts";
import {
  afterHello,
  greetThenStall,
  hi,
  type Script,
  silent,
  startHostile,
} from "./harness/hostile.ts";

const TIMEOUT = 500;
/** What a loaded machine may add to a timeout; the defects it guards against took 20 s. */
const SLACK = 1_500;
/** Password handshakes one server gets at once on this runtime. */
const SLOTS = hashConcurrency(globalThis);
const PASSWORD = "hostile-test-pw";

interface Outcome {
  readonly error: Error;
  readonly ms: number;
}

/** Connects to a fake running `script` and returns the rejection and how long it took. */
async function refused(script: Script, options: Partial<ClientOptions> = {}): Promise<Outcome> {
  await using server = await startHostile(script);
  const started = performance.now();
  try {
    const client = await Client.connect({
      url: server.url(PASSWORD),
      connectTimeout: TIMEOUT,
      logger: silentLogger,
      ...options,
    });
    await client.close();
  } catch (error) {
    assert.ok(error instanceof FaktoryError, `not a library error: ${error}`);
    return { error, ms: performance.now() - started };
  }
  return assert.fail("the connect succeeded");
}

const greetings: [name: string, greeting: string, message: RegExp][] = [
  ["a huge iteration count", hi({ i: 1_000_000, s: "abc" }), /asks for 1000000 password hash/],
  ["a negative iteration count", hi({ i: -5, s: "abc" }), /invalid password hash iteration/],
  ["a fractional iteration count", hi({ i: 4000.5, s: "abc" }), /invalid password hash iter/],
  ["an iteration count as a string", hi({ i: "8000", s: "abc" }), /iteration count "8000"/],
  ["no salt", hi({ i: 5000 }), /invalid password salt/],
  ["a salt that is a number", hi({ i: 5000, s: 7 }), /invalid password salt 7/],
  ["no iteration count", hi({ s: "abc" }), /invalid password hash iteration count undefined/],
  ["a greeting that is not JSON", "+HI {v:2\r\n", /greeting is not valid JSON/],
  ["no protocol version", '+HI {"i":5000,"s":"abc"}\r\n', /no protocol version/],
  ["something else than HI", "+HELLO there\r\n", /Expected the greeting "HI"/],
  ["a line longer than 64 KiB", `+HI ${"x".repeat(70_000)}`, /longer than 65536 bytes/],
  ["a 60 MB bulk greeting", "$60000000\r\n", /exceeds 65536/],
  ["a bulk length that never ends", `$${"9".repeat(40)}\r\n`, /Invalid bulk length/],
  ["garbage", "*3\r\n", /Unexpected reply type "\*"/],
  ["a null reply", "$-1\r\n", /^Unexpected greeting \(from 127\.0\.0\.1:\d+\)$/],
];

for (const [name, greeting, message] of greetings) {
  test(`hostile (test double: greeting with ${name}): refused at once with ProtocolError`, async () => {
    const { error, ms } = await refused(greetThenStall(greeting));
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, message);
    assert.match(error.message, /127\.0\.0\.1:\d+/, "names the server");
    assert.ok(ms < TIMEOUT + SLACK, `took ${ms} ms`);
  });
}

const stalls: [name: string, script: Script, stage: RegExp][] = [
  ["no greeting at all", silent, /while waiting for the greeting/],
  [
    "a greeting that trickles in forever",
    async (peer) => await peer.trickle(`+HI ${"x".repeat(60_000)}`, 10, 20),
    /while waiting for the greeting/,
  ],
  [
    "the largest iteration count allowed, then silence",
    greetThenStall(hi({ i: 16_384, s: "abc" })),
    /while (hashing the password|waiting for the HELLO reply)/,
  ],
];

for (const [name, script, stage] of stalls) {
  test(`hostile (test double: ${name}): connectTimeout ${TIMEOUT} holds`, async () => {
    const { error, ms } = await refused(script);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, stage);
    assert.match(error.message, /timed out after \d+ ms \(connectTimeout 500 ms\)/);
    const said = Number(/after (\d+) ms/.exec(error.message)?.[1]);
    assert.ok(said >= TIMEOUT && said <= ms + 1, `says ${said} ms, took ${ms} ms`);
    assert.ok(ms < TIMEOUT + SLACK, `took ${ms} ms`);
  });
}

test("hostile (test double: 16384 iterations) an abort stops the hashing at once", async () => {
  const controller = new AbortController();
  let abortedAt = 0;
  // Count the digests: none may follow the abort.
  type Digest = (...args: unknown[]) => Promise<ArrayBuffer>;
  const subtle = crypto.subtle as unknown as { digest: Digest };
  const digest = subtle.digest;
  let digests = 0;
  subtle.digest = function (this: unknown, ...args: unknown[]) {
    // Abort from inside the 100th digest: mid-hash on any runtime however
    // loaded the machine is (a timer could fire before the first digest, or
    // after the last).
    if (++digests === 100) {
      abortedAt = performance.now();
      controller.abort(new Error("gave up"));
    }
    return digest.apply(this, args);
  };
  try {
    const { error } = await refused(async (peer) => {
      await peer.write(hi({ i: 16_384, s: "abc" }));
      await peer.closed;
    }, { signal: controller.signal, connectTimeout: 60_000 });
    const ms = performance.now() - abortedAt;
    assert.ok(error instanceof ConnectionError && !(error instanceof TimeoutError), String(error));
    assert.match(error.message, /was aborted while hashing the password/);
    assert.ok(ms < 1_000, `settled ${ms} ms after the abort`);
    const after = digests;
    assert.ok(after >= 100 && after < 16_384, `${after} digests`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(digests, after, "hashing went on after the abort");
  } finally {
    subtle.digest = digest;
  }
});

test("hostile (test double: HELLO answered with +OK and garbage): ProtocolError", async () => {
  const { error } = await refused(async (peer) => {
    await peer.write(hi({}));
    await peer.readLine();
    await peer.write("+OK\r\ngarbage");
    await peer.closed;
  });
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, /Unexpected HELLO reply/);
});

test("hostile (test double: HELLO answered with garbage): ProtocolError", async () => {
  const { error } = await refused(async (peer) => {
    await peer.write(hi({}));
    await peer.readLine();
    await peer.write("?what\r\n");
    await peer.closed;
  });
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, /Unexpected reply type "\?"/);
});

test("hostile (test double: a close after the greeting): ConnectionError saying when", async () => {
  const { error } = await refused(async (peer) => {
    await peer.write(hi({}));
    await peer.readLine();
    peer.close();
  });
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /closed the connection while waiting for the HELLO reply/);
});

test("hostile (test double: a server that never greets) a connect waiting for its hashing slot gives up with its own timeout or signal", async () => {
  await using server = await startHostile(silent);
  const connect = (options: Partial<ClientOptions>) =>
    Client.connect({ url: server.url(PASSWORD), logger: silentLogger, ...options })
      .then(() => assert.fail("connected"), (e: Error) => e);
  // Connects take all of this server's hashing slots and hold them for 10 s.
  const holders = Array.from({ length: SLOTS }, () => connect({ connectTimeout: 10_000 }));
  while (server.accepted < SLOTS) await new Promise((resolve) => setTimeout(resolve, 10));
  let started = performance.now();
  const timedOut = await connect({ connectTimeout: TIMEOUT });
  assert.ok(timedOut instanceof TimeoutError, String(timedOut));
  assert.match(timedOut.message, /while waiting for other password handshakes with this server/);
  assert.ok(performance.now() - started < TIMEOUT + SLACK);
  started = performance.now();
  const aborted = await connect({ connectTimeout: 10_000, signal: AbortSignal.timeout(100) });
  assert.match(aborted.message, /was aborted while waiting for other password handshakes/);
  assert.ok(performance.now() - started < 100 + SLACK);
  assert.equal(server.accepted, SLOTS, "neither connected");
  await server.stop();
  for (const error of await Promise.all(holders)) assert.ok(error instanceof ConnectionError);
});

// ---- replies after a good handshake ------------------------------------------------

/** A client connected to a fake that answers HELLO, then every command with `reply`. */
async function replying(reply: Parameters<typeof afterHello>[0]) {
  const server = await startHostile(afterHello(reply));
  const client = await Client.connect({
    url: server.url(),
    connectTimeout: TIMEOUT,
    commandTimeout: TIMEOUT,
    logger: silentLogger,
  });
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.stop();
    },
  };
}

async function commandError(promise: Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FaktoryError, `not a library error: ${error}`);
    return { error, ms: performance.now() - started };
  }
  return assert.fail("the command succeeded");
}

test("hostile (test double: every reply split into single bytes): replies are read whole", async () => {
  await using server = await startHostile(async (peer) => {
    await peer.trickle(hi({}), 1, 1);
    await peer.readLine();
    await peer.trickle("+OK\r\n", 1, 1);
    for (let line = await peer.readLine(); line !== null; line = await peer.readLine()) {
      await peer.trickle(line.startsWith("INFO") ? '$9\r\n{"a":"b"}\r\n' : "+OK\r\n", 1, 1);
    }
  });
  await using client = await Client.connect({ url: server.url(), logger: silentLogger });
  assert.deepEqual(await client.info(), { a: "b" });
  await client.flush();
});

test("hostile (test double: a PUSHB reply that names jobs not in the batch): only the batch's own count as refused", async () => {
  await using fake = await replying((peer, line) => {
    const jids = [...line.matchAll(/"jid":"([^"]+)"/g)].map((m) => m[1]);
    return peer.write(
      `+${JSON.stringify({ [jids[1]!]: "full", stranger: "x", ["__proto__"]: "y" })}\r\n`,
    );
  });
  const job = (jid: string) => ({ jid, jobtype: "J", args: [] });
  assert.deepEqual(
    await fake.client.pushBulk([job("job-aaaa"), job("job-bbbb"), job("job-cccc")]),
    {
      "job-bbbb": "full",
    },
  );
});

test("hostile (test double: a reply that stalls halfway): TimeoutError within commandTimeout", async () => {
  await using fake = await replying((peer) => peer.write('$100\r\n{"a":'));
  const { error, ms } = await commandError(fake.client.info());
  assert.ok(error instanceof TimeoutError, String(error));
  assert.match(error.message, /INFO got no reply from 127\.0\.0\.1:\d+ within 500 ms/);
  assert.ok(ms < TIMEOUT + SLACK, `took ${ms} ms`);
});

test("hostile (test double: a close halfway through a reply): ConnectionError", async () => {
  await using fake = await replying(async (peer) => {
    await peer.write('$100\r\n{"a":');
    peer.close();
  });
  const { error } = await commandError(fake.client.info());
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /closed the connection/);
});

const badReplies: [name: string, reply: string, message: RegExp][] = [
  ["a bulk length that never ends", `$${"9".repeat(40)}\r\n`, /Invalid bulk length/],
  ["a bulk length over 64 MiB", "$70000000\r\n", /exceeds 67108864/],
  ["a negative bulk length", "$-5\r\n", /Invalid bulk length/],
  ["an unknown reply type", ":1\r\n", /Unexpected reply type ":"/],
];

for (const [name, reply, message] of badReplies) {
  test(`hostile (test double: ${name}): ProtocolError and a closed connection`, async () => {
    await using fake = await replying((peer) => peer.write(reply));
    const { error, ms } = await commandError(fake.client.info());
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, message);
    assert.match(error.message, /the connection was closed/);
    assert.ok(ms < TIMEOUT, `took ${ms} ms`);
  });
}

// ---- other servers are not starved -----------------------------------------------

test("hostile (test double: four stalled and four hashing-heavy connects in flight) a healthy server is reached without waiting for them", async () => {
  await using healthy = await startFaktory({ password: PASSWORD });
  await using stalling = await startHostile(silent);
  await using heavy = await startHostile(greetThenStall(hi({ i: 16_384, s: "abc" })));
  const controller = new AbortController();
  const hostile = [stalling, stalling, stalling, stalling, heavy, heavy, heavy, heavy].map((s) =>
    Client.connect({
      url: s.url(PASSWORD),
      connectTimeout: 20_000,
      signal: controller.signal,
      logger: silentLogger,
    }).then(
      (client) => client.close().then(() => "connected"),
      (e: Error) => e.name,
    )
  );
  // Wait until every hashing slot of both is held (the others wait for one).
  const deadline = Date.now() + 10_000;
  while ((stalling.accepted < SLOTS || heavy.accepted < SLOTS) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(stalling.accepted, SLOTS);
  // A heavy hash given up at the HELLO deadline starts over on a new connection.
  assert.ok(heavy.accepted >= SLOTS, `${heavy.accepted} heavy connects`);
  const started = performance.now();
  const client = await Client.connect({ url: healthy.url, logger: silentLogger });
  const ms = performance.now() - started;
  await client.info();
  await client.close();
  // It connected, so its HELLO beat the server's 2 s deadline. Starved, it
  // would wait for the hostile connects' slots (held 20 s) and time out; a
  // loaded machine can make it take seconds (3.6 s beside two busy processes).
  assert.ok(ms < 10_000, `the healthy connect took ${ms} ms`);
  controller.abort(new Error("test over"));
  assert.deepEqual(await Promise.all(hostile), Array(8).fill("ConnectionError"));
});

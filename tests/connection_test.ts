/**
 * `Connection` (src/connection.ts) and its reply reader over an in-memory
 * Runtime (tests/harness/memory.ts): the test plays the server byte by byte.
 * No server, no sockets: the handshake, pipelining, replies split at every
 * byte, command timeouts, closing with commands pending.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthenticationError,
  ConnectionError,
  ProtocolError,
  ServerError,
  silentLogger,
  TimeoutError,
} from "../mod.ts";
import { Connection, type ConnectionConfig } from "../src/connection.ts";
import type { Runtime } from "../src/runtime/types.ts";
import { type MemoryRuntime, memoryRuntime, type Peer } from "./harness/memory.ts";

const encoder = new TextEncoder();
const command = (line: string) => encoder.encode(`${line}\r\n`);

function config(extra: Partial<ConnectionConfig> = {}): ConnectionConfig {
  return {
    runtime: memoryRuntime(),
    hostname: "faktory.test",
    port: 7419,
    hello: { hostname: "memory-host", pid: 4242, labels: ["test"] },
    connectTimeout: 2_000,
    logger: silentLogger,
    ...extra,
  };
}

/** Opens a connection, playing the server's side of the handshake; returns both ends. */
async function open(extra: Partial<ConnectionConfig> = {}): Promise<[Connection, Peer]> {
  const c = config(extra);
  const opening = Connection.open(c);
  const peer = await (c.runtime as ReturnType<typeof memoryRuntime>).nextPeer();
  peer.send('+HI {"v":2}\r\n');
  assert.match((await peer.line())!, /^HELLO \{/);
  peer.send("+OK\r\n");
  return [await opening, peer];
}

describe("Connection over an in-memory runtime", () => {
  test("handshake: HI, then HELLO with version, host, pid, labels and wid, then +OK", async () => {
    const c = config({ hello: { hostname: "h", pid: 7, labels: ["a"], wid: "w1" } });
    const opening = Connection.open(c);
    const peer = await (c.runtime as ReturnType<typeof memoryRuntime>).nextPeer();
    assert.equal(peer.written.text, "", "the client waits for the greeting");
    peer.send('+HI {"v":2}\r\n');
    const hello = (await peer.line())!;
    assert.deepEqual(JSON.parse(hello.slice("HELLO ".length)), {
      v: 2,
      hostname: "h",
      pid: 7,
      labels: ["a"],
      wid: "w1",
    });
    peer.send("+OK\r\n");
    const connection = await opening;
    assert.equal(connection.isOpen, true);
    assert.equal(connection.where, "faktory.test:7419");
    connection.destroy();
  });

  test("handshake: the password hash the server asks for (test vector)", async () => {
    const c = config({ password: "foobar" });
    const opening = Connection.open(c);
    const peer = await (c.runtime as ReturnType<typeof memoryRuntime>).nextPeer();
    peer.send('+HI {"v":2,"i":1545,"s":"55104dc76695721d"}\r\n');
    const hello = JSON.parse((await peer.line())!.slice("HELLO ".length));
    assert.equal(hello.pwdhash, "6d877f8e5544b1f2598768f817413ab8a357afffa924dedae99eb91472d4ec30");
    peer.send("+OK\r\n");
    (await opening).destroy();
  });

  test("handshake failures: a refused password, a missing one, garbage, a close", async () => {
    const attempt = async (play: (peer: Peer) => void, extra: Partial<ConnectionConfig> = {}) => {
      const c = config(extra);
      const opening = Connection.open(c);
      play(await (c.runtime as ReturnType<typeof memoryRuntime>).nextPeer());
      return await opening.then(() => assert.fail("opened"), (e) => e);
    };
    const refused = await attempt((peer) => {
      peer.send('+HI {"v":2,"i":1,"s":"x"}\r\n');
      void peer.line().then(() => peer.send("-ERR Invalid password\r\n"));
    }, { password: "wrong" });
    assert.ok(refused instanceof AuthenticationError, String(refused));
    const missing = await attempt((peer) => peer.send('+HI {"v":2,"i":1,"s":"x"}\r\n'));
    assert.ok(
      missing instanceof AuthenticationError && /requires a password/.test(missing.message),
    );
    const garbage = await attempt((peer) => peer.send("HTTP/1.1 400 Bad Request\r\n"));
    assert.ok(garbage instanceof ProtocolError, String(garbage));
    const closed = await attempt((peer) => peer.close());
    assert.ok(closed instanceof ConnectionError && /greeting/.test(closed.message), String(closed));
  });

  test("handshake: a connection lost at any stage fails with that stage's hint", async () => {
    const hint = {
      greeting: /closed the connection while waiting for the greeting: it may be restarting/,
      hello: /while sending HELLO: the server drops a client whose HELLO takes over 2 s$/,
      reply: /while waiting for the HELLO reply: the server drops a client whose HELLO takes/,
    };
    // The server drops the client while it hashes (as Faktory does after 2 s): the HELLO write fails.
    const c = config({ password: "pw" });
    const opening = Connection.open(c);
    const peer = await (c.runtime as MemoryRuntime).nextPeer();
    peer.send('+HI {"v":2,"i":1,"s":"x"}\r\n');
    peer.close();
    const write = await opening.catch((e) => e);
    assert.ok(write instanceof ConnectionError, String(write));
    assert.match(write.message, hint.hello);

    // A read that fails (a reset) rather than ending, before the greeting or the HELLO reply.
    const memory = memoryRuntime();
    const reset = Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
    const resetting: Runtime = {
      ...memory,
      async connect(options) {
        const socket = await memory.connect(options);
        const read = async () => (await socket.read()) ?? Promise.reject(reset);
        return { ...socket, read };
      },
    };
    for (const stage of ["greeting", "reply"] as const) {
      const opening = Connection.open(config({ runtime: resetting }));
      const peer = await memory.nextPeer();
      if (stage === "reply") {
        peer.send('+HI {"v":2}\r\n');
        await peer.line();
      }
      peer.close();
      const error = await opening.catch((e) => e);
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, hint[stage]);
      assert.equal(error.cause, reset);
    }
  });

  test("handshake: a server that never greets times out within connectTimeout", async () => {
    const c = config({ connectTimeout: 50 });
    const error = await Connection.open(c).catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /\(connectTimeout 50 ms\) while waiting for the greeting/);
  });

  test("pipelining: commands sent in one tick go out in one write; replies settle in order", async () => {
    const [connection, peer] = await open();
    const writes = peer.written.writes.length;
    const replies = [
      connection.send(command("PUSH {}"), "PUSH", 1_000),
      connection.send(command("FETCH q"), "FETCH", 1_000),
      connection.send(command("INFO"), "INFO", 1_000),
      connection.send(command("BOGUS"), "BOGUS", 1_000).catch((e) => e),
    ];
    for (const expected of ["PUSH {}", "FETCH q", "INFO", "BOGUS"]) {
      assert.equal(await peer.line(), expected);
    }
    assert.equal(peer.written.writes.length, writes + 1, "one write for all four");
    peer.send('+OK\r\n$-1\r\n$11\r\n{"now":"x"}\r\n-ERR unknown command BOGUS\r\n');
    const [ok, none, info, error] = await Promise.all(replies);
    assert.equal(ok, "OK");
    assert.equal(none, null);
    assert.equal(info, '{"now":"x"}');
    assert.ok(error instanceof ServerError && error.code === "ERR", String(error));
    assert.equal(connection.isOpen, true, "an error reply leaves the connection open");
    connection.destroy();
  });

  test("a stream of replies split at every byte settles every command with its reply", async () => {
    const replies =
      "+OK\r\n$12\r\nline\r\nbreaks\r\n-ERR Job not found\r\n$-1\r\n$0\r\n\r\n+HI there\r\n";
    const expected = [
      "OK",
      "line\r\nbreaks",
      new ServerError("ERR", "Job not found"),
      null,
      "",
      "HI there",
    ];
    const bytes = encoder.encode(replies);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const [connection, peer] = await open();
      const settled = expected.map(() =>
        connection.send(command("X"), "X", 1_000).catch((e: ServerError) => e)
      );
      peer.send(bytes.subarray(0, cut));
      peer.send(bytes.subarray(cut));
      const got = await Promise.all(settled);
      assert.deepEqual(
        got.map((g) => (g instanceof ServerError ? g.message : g)),
        expected.map((e) => e instanceof ServerError ? e.message : e),
        `cut at ${cut}`,
      );
      connection.destroy();
    }
    // And one byte at a time.
    const [connection, peer] = await open();
    const settled = expected.map(() => connection.send(command("X"), "X", 1_000).catch((e) => e));
    for (const byte of bytes) peer.send(Uint8Array.of(byte));
    assert.equal((await Promise.all(settled)).length, expected.length);
    assert.equal(await settled[1], "line\r\nbreaks");
    connection.destroy();
  });

  test("a command with no reply times out, names its verb, and closes the connection", async () => {
    const [connection, peer] = await open();
    const start = Date.now();
    const first = connection.send(command("FETCH q"), "FETCH", 50).catch((e) => e);
    const second = connection.send(command("INFO"), "INFO", 5_000).catch((e) => e);
    const error = await first;
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /^FETCH got no reply from faktory\.test:7419 within 50 ms/);
    assert.ok(Date.now() - start < 1_000, "within the timeout and one watchdog tick");
    assert.equal(await second, error, "the command behind it fails with it");
    await peer.closed;
    assert.equal(connection.isOpen, false);
    await assert.rejects(connection.send(command("INFO"), "INFO", 1_000), TimeoutError);
  });

  test("close lets the commands sent get their replies, then sends END and closes", async () => {
    const [connection, peer] = await open();
    const pending = [
      connection.send(command("ACK {}"), "ACK", 1_000),
      connection.send(command("INFO"), "INFO", 1_000),
    ];
    const closing = connection.close();
    await assert.rejects(connection.send(command("INFO"), "INFO", 1_000), /is closing/);
    assert.equal(await peer.line(), "ACK {}");
    assert.equal(await peer.line(), "INFO");
    peer.send("+OK\r\n");
    peer.send("$2\r\n{}\r\n");
    assert.deepEqual(await Promise.all(pending), ["OK", "{}"]);
    assert.equal(await peer.line(), "END");
    await closing;
    assert.ok(peer.clientClosed, "the client closed its socket");
    await connection.close(); // idempotent
  });

  test("close with a command that never gets its reply ends at that command's timeout", async () => {
    const [connection, peer] = await open();
    const stuck = connection.send(command("FETCH q"), "FETCH", 100).catch((e) => e);
    await connection.close();
    assert.ok((await stuck) instanceof TimeoutError);
    assert.ok(!peer.written.text.includes("END"), "no END after a timeout: the link is suspect");
  });

  test("the server closing, garbage, or a reply nobody asked for fail what is pending", async () => {
    {
      const [connection, peer] = await open();
      const pending = connection.send(command("INFO"), "INFO", 1_000);
      peer.send("$100\r\npartial");
      peer.close();
      const error = await pending.catch((e) => e);
      assert.ok(error instanceof ConnectionError && /closed the connection/.test(error.message));
    }
    {
      const [connection, peer] = await open();
      const pending = connection.send(command("INFO"), "INFO", 1_000);
      peer.send(":1\r\n");
      const error = await pending.catch((e) => e);
      assert.ok(error instanceof ProtocolError, String(error));
      await peer.closed;
    }
    {
      const [connection, peer] = await open();
      peer.send("+OK\r\n");
      await peer.closed;
      const error = await connection.send(command("INFO"), "INFO", 1_000).catch((e) => e);
      assert.ok(error instanceof ProtocolError && /Reply without a command/.test(error.message));
    }
  });

  test("an error sent unasked refuses the connection: with HELLO's +OK, later, or over a command (test double: Faktory's -ERR too many connections)", async () => {
    const refused = (e: unknown) =>
      e instanceof ConnectionError &&
      e.message === "Faktory at faktory.test:7419 refused the connection: too many connections: " +
          "2001: close idle clients, or share connections";
    { // in the same packet as the +OK
      const c = config();
      const opening = Connection.open(c);
      const peer = await (c.runtime as MemoryRuntime).nextPeer();
      peer.send('+HI {"v":2}\r\n');
      await peer.line();
      peer.send("+OK\r\n-ERR too many connections: 2001\r\n");
      const error = await opening.catch((e) => e);
      assert.ok(refused(error), String(error));
      await peer.closed;
    }
    { // after it, over a command, which the server never ran
      const [connection, peer] = await open();
      const pending = connection.send(command("PUSH {}"), "PUSH", 1_000);
      peer.send("-ERR too many connections: 2001\r\n");
      const error = await pending.catch((e) => e);
      assert.ok(refused(error), String(error));
      await peer.closed;
    }
    { // any error nobody asked for
      const [connection, peer] = await open();
      peer.send("-ERR Something went wrong\r\n");
      await peer.closed;
      const error = await connection.send(command("INFO"), "INFO", 1_000).catch((e) => e);
      assert.ok(error instanceof ConnectionError, String(error));
      assert.equal(
        error.message,
        "Faktory at faktory.test:7419 refused the connection: Something went wrong",
      );
    }
    { // an error that answers a command is that command's
      const [connection, peer] = await open();
      const pending = connection.send(command("PUSH {}"), "PUSH", 1_000);
      peer.send("-ERR jobtype is required\r\n");
      const error = await pending.catch((e) => e);
      assert.ok(error instanceof ServerError, String(error));
      assert.equal(error.message, "jobtype is required");
      const info = connection.send(command("INFO"), "INFO", 1_000);
      peer.send("$2\r\n{}\r\n");
      assert.equal(await info, "{}", "the connection stays open");
      connection.destroy();
    }
  });

  test("destroy rejects every pending command at once with the error given", async () => {
    const [connection, peer] = await open();
    const pending = [1, 2, 3].map(() => connection.send(command("INFO"), "INFO", 1_000));
    const reason = new ConnectionError("gone");
    connection.destroy(reason);
    for (const p of pending) assert.equal(await p.catch((e) => e), reason);
    await peer.closed;
    await connection.closed;
  });
});

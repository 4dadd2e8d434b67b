/**
 * Garbage from the server (test doubles): invalid or random replies end in
 * library errors and closed connections, and a worker fed garbage for FETCH
 * keeps going and stops cleanly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  ConnectionError,
  FaktoryError,
  ProtocolError,
  silentLogger,
  Worker,
} from "../mod.ts";
import { fakeServer } from "./harness/doubles.ts";
import { seededRandom } from "./harness/proxy.ts";
import { until } from "./harness/until.ts";
import { unhandledRejections } from "./harness/watch.ts";

const unhandled = unhandledRejections();

describe("garbage from the server", () => {
  const invalid = [
    "?what\r\n",
    ":1\r\n",
    "*1\r\n$1\r\na\r\n",
    "$abc\r\n",
    "$-2\r\n",
    "$99999999999\r\n",
    "$3\r\nabcdef\r\n",
    "+" + "x".repeat(70 * 1024),
    "\x00\x01\x02\r\n",
  ];

  test("(test double: invalid RESP after HELLO) each reply ends in a ProtocolError and a closed connection", async () => {
    let next = 0;
    await using double = await fakeServer((_line, socket) => void socket.write(invalid[next++]!));
    await using client = await Client.connect({ url: double.url, logger: silentLogger });
    for (const reply of invalid) {
      const error = await client.info().catch((e) => e);
      assert.ok(error instanceof ProtocolError, `${JSON.stringify(reply.slice(0, 20))}: ${error}`);
      assert.match(error.message, /connection was closed/);
    }
    await until(() => double.open === 0, 5_000, "every connection closed");
    assert.equal(double.connections, invalid.length, "each command after garbage reconnected");
  });

  test("(test double: seeded random and mutated replies) every command settles with a library error or a value", async () => {
    const random = seededRandom(7);
    const valid = ["+OK\r\n", '$11\r\n{"now":"x"}\r\n', "$-1\r\n", "-ERR nope\r\n"];
    const garbage = () => {
      const bytes = random() < 0.5
        ? new TextEncoder().encode(valid[Math.floor(random() * valid.length)]!)
        : new Uint8Array(1 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      for (let flips = Math.floor(random() * 3); flips > 0; flips--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      return random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    };
    await using double = await fakeServer((_line, socket) => void socket.write(garbage()));
    const outcomes = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < 300; i++) {
      // A new client each time: one client backs off from a server that keeps sending garbage.
      await using client = await Client.connect({
        url: double.url,
        commandTimeout: 100,
        logger: silentLogger,
      });
      const outcome = await client.send(new TextEncoder().encode("INFO\r\n"), "INFO").then(
        () => "value",
        (e) => {
          assert.ok(e instanceof FaktoryError, `not a library error: ${e}`);
          return e.name;
        },
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    assert.ok(Date.now() - start < 40_000);
    assert.ok((outcomes.get("ProtocolError") ?? 0) > 100, JSON.stringify([...outcomes]));
    assert.deepEqual(unhandled, []);
  });

  test("(test double: garbage for FETCH) a worker logs errors, keeps going, and stops cleanly", async () => {
    const random = seededRandom(11);
    await using double = await fakeServer((line, socket) => {
      if (line.startsWith("FETCH")) {
        socket.write(new Uint8Array(32).map(() => Math.floor(random() * 256)));
      } else socket.write("+OK\r\n");
    });
    const errors: Error[] = [];
    const worker = new Worker({
      url: double.url,
      queues: ["q"],
      concurrency: 2,
      fetchers: 2,
      commandTimeout: 300, // garbage may look like the start of a reply that never ends
      logger: silentLogger,
    });
    worker.on("error", (e) => void errors.push(e));
    const running = worker.run();
    await until(() => errors.length >= 4, 10_000, "errors reported");
    const start = Date.now();
    await worker.stop();
    await running;
    assert.ok(Date.now() - start < 5_000);
    assert.ok(errors.every((e) => e instanceof ProtocolError || e instanceof ConnectionError));
    assert.deepEqual(unhandled, []);
  });

  test("(test double: FETCH returns JSON that is not a job) it is skipped with an error event, or FAILed when it has a jid", async () => {
    const replies = ["not json", '{"foo":1}', '{"jid":"malformed-1","args":[]}'];
    const fails: string[] = [];
    await using double = await fakeServer((line, socket) => {
      if (line.startsWith("FETCH")) {
        const text = replies.shift();
        socket.write(text === undefined ? "$-1\r\n" : `$${text.length}\r\n${text}\r\n`);
      } else {
        if (line.startsWith("FAIL")) fails.push(line);
        socket.write("+OK\r\n");
      }
    });
    const errors: Error[] = [];
    const worker = new Worker({
      url: double.url,
      queues: ["q"],
      fetchers: 1,
      logger: silentLogger,
    });
    worker.on("error", (e) => void errors.push(e));
    const running = worker.run();
    await until(() => fails.length === 1 && errors.length >= 3, 10_000, "FAIL sent");
    await worker.stop();
    await running;
    assert.ok(errors.every((e) => e instanceof ProtocolError), errors.join("\n"));
    const failed = JSON.parse(fails[0]!.slice(5)) as Record<string, unknown>;
    assert.equal(failed.jid, "malformed-1");
    assert.equal(failed.errtype, "ProtocolError");
    assert.deepEqual(unhandled, []);
  });
});

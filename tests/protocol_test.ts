import { test } from "node:test";
import assert from "node:assert/strict";
import * as cmd from "../src/protocol/command.ts";
import { hashPassword, parseHi } from "../src/protocol/handshake.ts";
import {
  ConnectionError,
  NotUniqueError,
  ProtocolError,
  ServerError,
  serverError,
  ServerShuttingDownError,
  ValidationError,
} from "../src/errors.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("handshake: the password hash matches the test vector (Web Crypto, 1545 rounds)", async () => {
  assert.equal(
    await hashPassword("foobar", "55104dc76695721d", 1545),
    "6d877f8e5544b1f2598768f817413ab8a357afffa924dedae99eb91472d4ec30",
  );
});

test("handshake: HI is parsed with and without password parameters", () => {
  assert.deepEqual(parseHi('HI {"v":2}'), { v: 2 });
  assert.deepEqual(parseHi('HI {"v":2,"i":4321,"s":"abc"}'), { v: 2, i: 4321, s: "abc" });
  assert.throws(() => parseHi("HELLO"), ProtocolError);
  assert.throws(() => parseHi("HI {"), ProtocolError);
  assert.throws(() => parseHi('HI {"v":2,"i":-1,"s":"x"}'), ProtocolError);
});

test("commands: FETCH lists validated queues in order", () => {
  assert.equal(
    text(cmd.fetch(["critical", "default", "a.b_c-d"])),
    "FETCH critical default a.b_c-d\r\n",
  );
  assert.throws(() => cmd.fetch([]), ValidationError);
});

test("commands: queue names with spaces, CR, LF or other characters are refused", () => {
  for (const bad of ["a b", "a\r\nFLUSH", "a\n", "", "ü", "a/b", "*"]) {
    assert.throws(() => cmd.fetch([bad]), (e: Error) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /Invalid queue/);
      return true;
    });
  }
});

test("commands: words refuse whitespace and control characters", () => {
  for (const bad of ["a b", "a\r", "a\nb", "", "\t", "a\x00"]) {
    assert.throws(() => cmd.validateWord(bad, "jid"), ValidationError);
  }
  assert.equal(cmd.validateWord("abc-123", "jid"), "abc-123");
});

test("commands: JSON payloads stay on one line", () => {
  const bytes = text(cmd.withJson("PUSH", { args: ["line\r\nFLUSH"] }));
  assert.equal(bytes, 'PUSH {"args":["line\\r\\nFLUSH"]}\r\n');
  assert.equal(bytes.indexOf("\n"), bytes.length - 1);
  assert.throws(() => cmd.withJson("PUSH", { n: 1n }), ValidationError);
});

test("commands: MUTATE escapes every space so the line splits in exactly two", () => {
  const line = text(cmd.mutate({ cmd: "kill", target: "retries", filter: { regexp: "*a b*" } }));
  assert.equal(
    line,
    'MUTATE {"cmd":"kill","target":"retries","filter":{"regexp":"*a\\u0020b*"}}\r\n',
  );
  assert.equal(line.trimEnd().split(" ").length, 2);
  assert.deepEqual(JSON.parse(line.slice(7)), {
    cmd: "kill",
    target: "retries",
    filter: { regexp: "*a b*" },
  });
});

test("errors: a server shutting down is a retriable ConnectionError, NOTUNIQUE its own type", () => {
  const shutdown = serverError("ERR shutdown in progress");
  assert.ok(shutdown instanceof ServerShuttingDownError);
  assert.ok(shutdown instanceof ConnectionError);
  assert.ok(serverError("NOTUNIQUE Job not unique") instanceof NotUniqueError);
  const plain = serverError("ERR Job not found");
  assert.ok(plain instanceof ServerError && !(plain instanceof ConnectionError));
  assert.equal((plain as ServerError).code, "ERR");
});

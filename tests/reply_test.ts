import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ErrorReply, type Reply, ReplyReader } from "../src/protocol/reply.ts";
import { ProtocolError } from "../src/errors.ts";

const encoder = new TextEncoder();

function encode(reply: Reply): string {
  if (reply === null) return "$-1\r\n";
  if (reply instanceof ErrorReply) return `-${reply.line}\r\n`;
  return `$${encoder.encode(reply).length}\r\n${reply}\r\n`;
}

function readAll(chunks: Uint8Array[]): Reply[] {
  const reader = new ReplyReader();
  const out: Reply[] = [];
  for (const chunk of chunks) {
    reader.feed(chunk);
    for (let r = reader.next(); r !== undefined; r = reader.next()) out.push(r);
  }
  assert.equal(reader.buffered, 0, "nothing is left over");
  return out;
}

const line = fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\r") && !s.includes("\n"));
const reply: fc.Arbitrary<Reply> = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.constant(null),
  line.map((s) => new ErrorReply(`ERR ${s}`)),
);

test("reply reader: simple, error, bulk and null replies", () => {
  const bytes = encoder.encode("+OK\r\n-ERR Job not found\r\n$5\r\nhe\r\no\r\n$-1\r\n$0\r\n\r\n");
  assert.deepEqual(readAll([bytes]), [
    "OK",
    new ErrorReply("ERR Job not found"),
    "he\r\no",
    null,
    "",
  ]);
});

test("reply reader: a reply split at every byte parses the same (property)", () => {
  fc.assert(
    fc.property(fc.array(reply, { minLength: 1, maxLength: 5 }), (replies) => {
      const bytes = encoder.encode(replies.map(encode).join(""));
      for (let cut = 0; cut <= bytes.length; cut++) {
        const parsed = readAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
        assert.deepEqual(parsed, replies);
      }
    }),
    { numRuns: 200 },
  );
});

test("reply reader: one byte at a time and random chunks give the same replies (property)", () => {
  fc.assert(
    fc.property(
      fc.array(reply, { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1 }),
      (replies, sizes) => {
        const bytes = encoder.encode(replies.map(encode).join(""));
        const singles = Array.from(bytes, (b) => Uint8Array.of(b));
        assert.deepEqual(readAll(singles), replies);
        const chunks: Uint8Array[] = [];
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const size = sizes[k % sizes.length]!;
          chunks.push(bytes.subarray(i, i + size));
          i += size;
        }
        assert.deepEqual(readAll(chunks), replies);
      },
    ),
    { numRuns: 300 },
  );
});

test("reply reader: a large bulk reply in many chunks is joined once and read whole", () => {
  const body = "x".repeat(1_000_000);
  const bytes = encoder.encode(`$${body.length}\r\n${body}\r\n+OK\r\n`);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 4096) chunks.push(bytes.subarray(i, i + 4096));
  assert.deepEqual(readAll(chunks), [body, "OK"]);
});

test("reply reader: garbage is a ProtocolError", () => {
  for (
    const garbage of ["?what\r\n", "$abc\r\n", "$-2\r\n", "$3\r\nabcde\r\n", ":1\r\n", "*1\r\n"]
  ) {
    const reader = new ReplyReader();
    reader.feed(encoder.encode(garbage));
    assert.throws(() => reader.next(), ProtocolError, garbage);
  }
});

test("reply reader: fuzzed bytes either parse or throw ProtocolError, never anything else (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const reader = new ReplyReader();
      reader.feed(bytes);
      try {
        while (reader.next() !== undefined);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test("reply reader: an endless line without CRLF is refused instead of buffered forever", () => {
  const reader = new ReplyReader();
  reader.feed(encoder.encode("+" + "a".repeat(70_000)));
  assert.throws(() => reader.next(), ProtocolError);
});

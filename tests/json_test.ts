// Job args and custom must come back from JSON as they went in: what JSON
// would change is refused with a ValidationError naming its path (src/json.ts).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Client,
  type JobPayload,
  Producer,
  randomJid,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { validatePayload } from "../src/payload.ts";
import { fake } from "../src/testing.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";

const job = (args: unknown[], custom?: Record<string, unknown>): JobPayload => ({
  jid: randomJid(),
  jobtype: "T",
  args,
  ...(custom === undefined ? {} : { custom }),
});

/** Asserts `check` throws a ValidationError whose message matches `message`. */
function refused(check: () => unknown, message: RegExp): void {
  assert.throws(check, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `a ValidationError, not ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

class Point {
  constructor(readonly x: number, readonly y: number) {}
}
class Money {
  constructor(readonly cents: number) {}
  toJSON() {
    return { cents: this.cents };
  }
}

describe("args and custom: what JSON would change is refused, naming the path", () => {
  test("Map, Set, Error, typed arrays, buffers, RegExp, weak collections, class instances", () => {
    const cases: [unknown, RegExp][] = [
      [new Map([["a", 1]]), /^Invalid args\[0\]: a Map becomes \{\} in JSON/],
      [new Set([1]), /^Invalid args\[0\]: a Set becomes \{\} in JSON/],
      [new Error("boom"), /^Invalid args\[0\]: an Error becomes \{\} in JSON/],
      [new TypeError("boom"), /^Invalid args\[0\]: a TypeError becomes \{\} in JSON/],
      [new Uint8Array([1, 2]), /^Invalid args\[0\]: a Uint8Array does not keep its bytes/],
      [new Float64Array(2), /^Invalid args\[0\]: a Float64Array/],
      [new ArrayBuffer(4), /^Invalid args\[0\]: an ArrayBuffer/],
      [new DataView(new ArrayBuffer(4)), /^Invalid args\[0\]: a DataView/],
      [/ab+c/, /^Invalid args\[0\]: a RegExp becomes \{\} in JSON/],
      [new WeakMap(), /^Invalid args\[0\]: a WeakMap cannot be sent as JSON/],
      [Promise.resolve(1), /^Invalid args\[0\]: a Promise cannot be sent as JSON/],
      [new Point(1, 2), /^Invalid args\[0\]: a Point cannot be sent .*toJSON/],
      [new Date(Number.NaN), /^Invalid args\[0\]: an invalid Date becomes null/],
    ];
    for (const [value, message] of cases) {
      refused(() => validatePayload(job([value])), message);
    }
  });

  test("paths name the value inside args and custom", () => {
    refused(
      () => validatePayload(job([1, { a: [0, new Map()] }])),
      /^Invalid args\[1\]\.a\[1\]: a Map/,
    );
    refused(
      () => validatePayload(job([], { x: { y: new Set() } })),
      /^Invalid custom\.x\.y: a Set/,
    );
    refused(() => validatePayload(job([], { "a b": 1n })), /^Invalid custom\["a b"\]: BigInt/);
    refused(() => validatePayload(job([[1, , 3]])), /^Invalid args\[0\]\[1\]: undefined/);
  });

  test("a getter or a toJSON that throws is a ValidationError, not the raw error", () => {
    const getter = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new RangeError("no");
      },
    });
    refused(
      () => validatePayload(job([getter])),
      /^Invalid args\[0\]\.boom: reading it threw: no$/,
    );
    const toJson = {
      toJSON: () => {
        throw "nope";
      },
    };
    refused(
      () => validatePayload(job([], { t: toJson })),
      /^Invalid custom\.t: its toJSON method threw: nope$/,
    );
    const proxy = new Proxy([], {
      get() {
        throw new Error("trap");
      },
    });
    refused(() => validatePayload(job([proxy])), /^Invalid args\[0\]: reading it threw: trap$/);
  });

  test("nesting: 100 levels pass, 101 are refused, 100 000 do not overflow the stack", () => {
    const nest = (levels: number) => {
      let v: unknown[] = [1];
      for (let i = 1; i < levels; i++) v = [v];
      return v;
    };
    validatePayload(job(nest(100))); // args itself is level 1
    refused(() => validatePayload(job(nest(101))), /nests deeper than 100 levels/);
    refused(() => validatePayload(job(nest(100_000))), /nests deeper than 100 levels/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    refused(() => validatePayload(job([], deep)), /^Invalid custom(\.d)+: it nests deeper/);
  });

  test("allowed: plain values, null-prototype objects, Dates and other toJSON objects", () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    const value = [
      "s",
      1.5,
      -0,
      true,
      null,
      { a: [1, { b: "c" }], skipped: undefined },
      bare,
      new Date(0),
      new Money(250),
      { [Symbol("meta")]: 1, kept: 2 },
    ];
    validatePayload(job(value, { at: new Date(0), nested: { money: new Money(1) } }));
    // The same object twice is not a cycle.
    const shared = { s: 1 };
    validatePayload(job([shared, shared, [shared]]));
  });

  test("cycles are still refused, also through toJSON", () => {
    const a: Record<string, unknown> = {};
    a.self = { back: a };
    refused(() => validatePayload(job([a])), /^Invalid args\[0\]\.self\.back: it refers to itself/);
    const loop: { toJSON(): unknown } = { toJSON: () => [loop] };
    refused(() => validatePayload(job([loop])), /^Invalid args\[0\]\[0\]: it refers to itself/);
  });

  test("property: a value is refused naming a path, or comes back from JSON as it went in", () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
      maxDepth: 4,
    });
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 3 }), (args) => {
        let error: unknown;
        try {
          validatePayload(job(args));
        } catch (e) {
          error = e;
        }
        if (error !== undefined) {
          assert.ok(error instanceof ValidationError, String(error));
          assert.match(error.message, /^Invalid args\[\d+\]/);
          return;
        }
        assert.deepStrictEqual(JSON.parse(JSON.stringify(args)), asJson(args));
      }),
      { seed: 20261202, numRuns: 2000 },
    );
  });
});

/** What JSON should give back for an accepted value: toJSON applied, undefined fields dropped, -0 as 0. */
function asJson(value: unknown, key = ""): unknown {
  if (typeof value === "number") return value === 0 ? 0 : value;
  if (typeof value !== "object" || value === null) return value;
  const toJson = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJson === "function") return asJson(toJson.call(value, key), key);
  if (Array.isArray(value)) return value.map((v, i) => asJson(v, String(i)));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = asJson(v, k);
  }
  return out;
}

describe("on a real Faktory: refused values never reach the server", () => {
  let server: FaktoryServer;
  let client: Client;
  before(async () => {
    server = await startFaktory();
    client = await Client.connect({ url: server.url, logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  test("perform refuses before sending; a Date arrives as its ISO string", async () => {
    await using producer = await Producer.connect({ url: server.url, logger: silentLogger });
    for (
      const arg of [new Map(), new Set([1]), new Error("x"), new Uint8Array(1), new Point(0, 0)]
    ) {
      await assert.rejects(
        producer.perform({ jobtype: "J", queue: "json" }, [arg]),
        ValidationError,
      );
      await assert.rejects(
        producer.perform({ jobtype: "J", queue: "json", custom: { x: { y: arg } } }, []),
        (e: Error) => e instanceof ValidationError && /^Invalid custom\.x\.y: /.test(e.message),
      );
    }
    assert.equal((await client.info()).faktory.queues["json"] ?? 0, 0, "nothing was pushed");
    await producer.perform({ jobtype: "J", queue: "json" }, [new Date(0), new Money(5)]);
    const fetched = await client.fetch(["json"]);
    assert.deepEqual(fetched?.args, ["1970-01-01T00:00:00.000Z", { cents: 5 }]);
    await client.ack(fetched!.jid);
  });

  test("./testing refuses the same values with the same errors", async () => {
    const jobs = fake();
    await assert.rejects(
      jobs.perform({ jobtype: "J" }, [1, new Map()]),
      /^ValidationError: Invalid args\[1\]: a Map becomes \{\} in JSON/,
    );
  });
});

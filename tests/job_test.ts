import { test } from "node:test";
import assert from "node:assert/strict";
import { buildPayload, defineJob, Job, mergeOptions, ValidationError } from "../mod.ts";
import { validatePayload } from "../src/payload.ts";

test("job options compose: later wins, custom merges, at and in replace each other", () => {
  const at = new Date("2030-01-01T00:00:00Z");
  const merged = mergeOptions(
    { queue: "a", retry: 3, custom: { x: 1, y: 1 } },
    undefined,
    { queue: "b", custom: { y: 2 }, at },
    { in: 10 },
  );
  assert.deepEqual(merged, { queue: "b", retry: 3, custom: { x: 1, y: 2 }, in: 10 });
  assert.deepEqual(mergeOptions({ in: 5 }, { at }), { at });
});

test("buildPayload turns options into the wire format", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  const job = buildPayload(
    { jobtype: "T", queue: "q", retry: 2, in: 90, reserveFor: 600, backtrace: 5, custom: { a: 1 } },
    ["x"],
    now,
  );
  assert.match(job.jid, /^[0-9a-f]{24}$/);
  assert.deepEqual({ ...job, jid: "" }, {
    jid: "",
    jobtype: "T",
    args: ["x"],
    queue: "q",
    retry: 2,
    at: "2030-01-01T00:01:30.000Z",
    reserve_for: 600,
    backtrace: 5,
    custom: { a: 1 },
  });
  assert.equal(buildPayload({ jobtype: "T", once: true }, []).retry, -1);
  assert.equal(
    buildPayload({ jobtype: "T", at: new Date(now) }, []).at,
    "2030-01-01T00:00:00.000Z",
  );
  assert.notEqual(buildPayload({ jobtype: "T" }, []).jid, buildPayload({ jobtype: "T" }, []).jid);
});

test("invalid options are refused with a message naming the field", () => {
  const cases: [Parameters<typeof buildPayload>[0], unknown[], RegExp][] = [
    [{ jobtype: "" }, [], /jobtype/],
    [{}, [], /jobtype/],
    [{ jobtype: "T", in: -1 }, [], /Invalid in/],
    [{ jobtype: "T", reserveFor: 86401 }, [], /reserveFor/],
    [{ jobtype: "T", reserveFor: 1.5 }, [], /reserveFor/],
    [{ jobtype: "T", queue: "a b" }, [], /queue/],
    [{ jobtype: "T", retry: -2 }, [], /retry/],
    [{ jobtype: "T", at: new Date("nope") }, [], /Invalid at/],
    [{ jobtype: "T", backtrace: -1 }, [], /backtrace/],
  ];
  for (const [options, args, message] of cases) {
    assert.throws(() => buildPayload(options, args), (e: Error) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(
    () => buildPayload({ jobtype: "T" }, "x" as unknown as unknown[]),
    /args must be an array/,
  );
  assert.throws(() => defineJob(""), ValidationError);
});

test("Job exposes the payload with defaults, the reservation and retries remaining", () => {
  const job = new Job<[string]>({
    jid: "0123456789ab",
    jobtype: "T",
    args: ["a"],
    reserve_for: 30,
    retry: 5,
    created_at: "2030-01-01T00:00:00Z",
    failure: { retry_count: 2 },
  });
  assert.equal(job.queue, "default");
  assert.equal(job.reserveFor, 60, "the server raises reservations under 60 s");
  assert.equal(job.retriesRemaining, 3);
  assert.equal(job.createdAt?.toISOString(), "2030-01-01T00:00:00.000Z");
  assert.equal(new Job({ jid: "0123456789ab", jobtype: "T", args: [] }).reserveFor, 1800);
  assert.equal(
    new Job({
      jid: "0123456789ab",
      jobtype: "T",
      args: [],
      failure: { remaining: 7, retry_count: 1 },
    })
      .retriesRemaining,
    7,
  );
});

test("args and custom that JSON cannot represent are refused, naming the field", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [unknown[], RegExp][] = [
    [[1n], /args\[0\].*BigInt/],
    [[cyclic], /args\[0\]\.self.*cycle/],
    [[() => 1], /args\[0\].*function/],
    [[1, undefined], /args\[1\].*undefined/],
    [[NaN], /args\[0\].*NaN/],
    [[{ a: [Infinity] }], /args\[0\]\.a\[0\].*Infinity/],
    [[Symbol("s")], /args\[0\].*symbol/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => validatePayload({ jid: "0123456789ab", jobtype: "T", args }),
      (e: Error) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.match(e.message, message);
        return true;
      },
    );
  }
  assert.throws(
    () => validatePayload({ jid: "0123456789ab", jobtype: "T", args: [], custom: { n: 2n } }),
    /custom\.n/,
  );
  // Dates (toJSON), nested objects and undefined object fields are fine.
  validatePayload({
    jid: "0123456789ab",
    jobtype: "T",
    args: [new Date(0), { a: { b: [1] }, c: undefined }],
  });
  assert.throws(() => validatePayload({ jid: "short", jobtype: "T", args: [] }), /jid/);
});

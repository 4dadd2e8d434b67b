import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  buildPayload,
  Client,
  EnterpriseRequiredError,
  Job,
  type JobOptions,
  mergeOptions,
  NotUniqueError,
  silentLogger,
  ValidationError,
} from "../mod.ts";
import { startFaktory } from "./harness/faktory.ts";

// ---- a scripted Faktory Enterprise double ---------------------------------------

/**
 * One command the double expects (without CRLF), and its raw reply. Words
 * must match byte for byte; a JSON payload must hold the same values, in
 * any key order (the encoder's order is not the protocol's concern).
 */
interface Step {
  readonly expect: string;
  readonly reply: string;
}

/** Whether `line` is the command `expect`: same verb and words, equal JSON payload. */
function sameCommand(line: string, expect: string): boolean {
  if (line === expect) return true;
  const split = (text: string) => {
    const at = text.search(/ [{[]/);
    return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
  };
  const [verb, json] = split(line);
  const [expectedVerb, expectedJson] = split(expect);
  if (verb !== expectedVerb || json === undefined || expectedJson === undefined) return false;
  try {
    assert.deepStrictEqual(JSON.parse(json), JSON.parse(expectedJson));
    return true;
  } catch {
    return false;
  }
}

const OK = "+OK\r\n";
const bulk = (text: string) => `$${new TextEncoder().encode(text).length}\r\n${text}\r\n`;

/**
 * A node:net server that greets (`+HI {"v":2}`), answers HELLO with +OK, then
 * checks each command line against the script in order and replays its
 * reply. Anything else is answered with an error and recorded as a problem.
 */
async function scriptedServer(steps: readonly Step[]) {
  const problems: string[] = [];
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    socket.write('+HI {"v":2}\r\n');
    let buffer = "";
    let greeted = false;
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!greeted) {
          greeted = true;
          if (!line.startsWith("HELLO {")) problems.push(`expected HELLO, got ${line}`);
          socket.write(OK);
        } else if (line === "END") {
          socket.end();
        } else {
          const step = steps[next++];
          if (step === undefined) {
            problems.push(`unexpected command ${JSON.stringify(line)}`);
            socket.write("-ERR test double: unexpected command\r\n");
          } else if (!sameCommand(line, step.expect)) {
            problems.push(
              `expected ${JSON.stringify(step.expect)}\n     got ${JSON.stringify(line)}`,
            );
            socket.write("-ERR test double: unexpected bytes\r\n");
          } else {
            socket.write(step.reply);
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    /** Asserts that every step ran and nothing else arrived. */
    assertDone() {
      assert.deepEqual(problems, []);
      assert.equal(next, steps.length, "every scripted command was received");
    },
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const connect = (url: string) => Client.connect({ url, logger: silentLogger });

// ---- tests ----------------------------------------------------------------------

describe("Enterprise batches and tracking (Enterprise test double)", () => {
  test("batch: NEW with callbacks and parent, jobs carry custom.bid, COMMIT, OPEN, STATUS (Enterprise test double)", async () => {
    const bid = "b-6a9c1f2e";
    const success = buildPayload({ jobtype: "ImportDone" }, [42]);
    const complete = buildPayload({ jobtype: "ImportFinished", queue: "critical" }, [42]);
    const row = buildPayload({ jobtype: "ImportRow", batchId: bid }, [42, 1]);
    const status = {
      bid,
      parent_bid: "b-parent",
      description: "Import 42 rows",
      created_at: "2024-05-01T10:00:00.123Z",
      complete_st: "1",
      success_st: "",
      total: 3,
      pending: 1,
      failed: 1,
    };
    await using double = await scriptedServer([
      {
        expect: `BATCH NEW ${
          JSON.stringify({
            description: "Import 42 rows",
            parent_bid: "b-parent",
            success: { ...success, retry: 25 },
            complete: { ...complete, retry: 25 },
          })
        }`,
        reply: bulk(bid),
      },
      { expect: `PUSH ${JSON.stringify({ ...row, retry: 25 })}`, reply: OK },
      { expect: `BATCH COMMIT ${bid}`, reply: OK },
      { expect: `BATCH OPEN ${bid}`, reply: bulk(bid) },
      { expect: `BATCH COMMIT ${bid}`, reply: OK },
      { expect: `BATCH STATUS ${bid}`, reply: bulk(JSON.stringify(status)) },
    ]);
    await using client = await connect(double.url);

    assert.deepEqual(row.custom, { bid });
    assert.equal(new Job(row).batchId, bid, "a job's batch id comes from custom.bid");
    const created = await client.newBatch({
      description: "Import 42 rows",
      parentBid: "b-parent",
      success,
      complete,
    });
    assert.equal(created, bid);
    await client.push(row);
    await client.commitBatch(bid);
    await client.openBatch(bid);
    await client.commitBatch(bid);
    const got = await client.batchStatus(bid);
    assert.deepEqual({ ...got, raw: undefined }, {
      bid,
      parentBid: "b-parent",
      description: "Import 42 rows",
      createdAt: new Date("2024-05-01T10:00:00.123Z"),
      total: 3,
      pending: 1,
      failed: 1,
      completeCallback: "enqueued",
      successCallback: "pending",
      raw: undefined,
    });
    assert.deepEqual(got.raw, status);
    double.assertDone();
  });

  test("batch: a bid sent as a simple string; callbacks get the namespace (Enterprise test double)", async () => {
    const success = buildPayload({ jobtype: "Done", queue: "callbacks", retry: 3 }, []);
    await using double = await scriptedServer([
      {
        expect: `BATCH NEW ${JSON.stringify({ success: { ...success, queue: "app.callbacks" } })}`,
        reply: "+b-simple\r\n",
      },
      {
        expect: "BATCH STATUS b-simple",
        reply: bulk(
          '{"bid":"b-simple","total":0,"pending":0,"failed":0,"complete_st":"2","success_st":"9"}',
        ),
      },
    ]);
    await using client = await connect(`${double.url}/app.`);
    assert.equal(await client.newBatch({ success }), "b-simple");
    const status = await client.batchStatus("b-simple");
    assert.equal(status.completeCallback, "done");
    assert.equal(status.successCallback, "unknown", "a code this library does not know");
    assert.equal(status.createdAt, undefined);
    assert.equal(status.parentBid, undefined);
    double.assertDone();
  });

  test("tracking: tracked jobs carry custom.track = 1, TRACK SET and TRACK GET (Enterprise test double)", async () => {
    const tracked = buildPayload({ jobtype: "Resize", tracked: true }, [7]);
    const reserveUntil = new Date(Date.now() + 3_600_000);
    const reply = {
      jid: tracked.jid,
      percent: 40,
      desc: "Resizing 2 of 5",
      state: "working",
      updated_at: "2024-05-01T10:00:00Z",
    };
    await using double = await scriptedServer([
      { expect: `PUSH ${JSON.stringify({ ...tracked, retry: 25 })}`, reply: OK },
      {
        expect: `TRACK SET ${
          JSON.stringify({
            jid: tracked.jid,
            percent: 40,
            desc: "Resizing 2 of 5",
            reserve_until: reserveUntil.toISOString(),
          })
        }`,
        reply: OK,
      },
      { expect: `TRACK SET {"jid":"${tracked.jid}","percent":0}`, reply: OK },
      { expect: `TRACK GET ${tracked.jid}`, reply: bulk(JSON.stringify(reply)) },
      {
        expect: "TRACK GET never-pushed-1",
        reply: bulk('{"jid":"never-pushed-1","state":"unknown"}'),
      },
    ]);
    await using client = await connect(double.url);

    assert.deepEqual(tracked.custom, { track: 1 });
    await client.push(tracked);
    await client.setTracking({
      jid: tracked.jid,
      percent: 40,
      description: "Resizing 2 of 5",
      reserveUntil,
    });
    await client.setTracking({ jid: tracked.jid, percent: 0 });
    const got = await client.getTracking(tracked.jid);
    assert.deepEqual({ ...got, raw: undefined }, {
      jid: tracked.jid,
      state: "working",
      percent: 40,
      description: "Resizing 2 of 5",
      updatedAt: new Date("2024-05-01T10:00:00Z"),
      raw: undefined,
    });
    const unknown = await client.getTracking("never-pushed-1");
    assert.equal(unknown.state, "unknown");
    assert.equal(unknown.percent, undefined);
    assert.equal(unknown.updatedAt, undefined);
    double.assertDone();
  });

  test("unique and expiring jobs: custom fields on the wire; NOTUNIQUE is a NotUniqueError (Enterprise test double)", async () => {
    const unique = buildPayload(
      { jobtype: "SyncUser", uniqueFor: 600, uniqueUntil: "start", expiresIn: 3600 },
      ["user-42"],
    );
    const expiresAt = new Date("2030-01-02T03:04:05.678Z");
    const expiring = buildPayload({ jobtype: "Report", expiresAt, custom: { trace: "t1" } }, []);
    await using double = await scriptedServer([
      { expect: `PUSH ${JSON.stringify({ ...unique, retry: 25 })}`, reply: OK },
      {
        expect: `PUSH ${JSON.stringify({ ...unique, retry: 25 })}`,
        reply: "-NOTUNIQUE Job not unique\r\n",
      },
      { expect: `PUSH ${JSON.stringify({ ...expiring, retry: 25 })}`, reply: OK },
    ]);
    await using client = await connect(double.url);

    assert.deepEqual(unique.custom, { unique_for: 600, unique_until: "start", expires_in: 3600 });
    assert.deepEqual(expiring.custom, { trace: "t1", expires_at: "2030-01-02T03:04:05.678Z" });
    await client.push(unique);
    const error = await client.push(unique).catch((e) => e);
    assert.ok(error instanceof NotUniqueError, String(error));
    assert.equal(error.code, "NOTUNIQUE");
    assert.equal(error.message, "Job not unique");
    await client.push(expiring); // the connection is still usable
    double.assertDone();
  });

  test("bad batch ids, jids and tracking updates are refused before anything is sent (Enterprise test double)", async () => {
    await using double = await scriptedServer([]);
    await using client = await connect(double.url);
    const past = new Date(Date.now() - 1000);
    // deno-fmt-ignore
    const refused: [Promise<unknown>, RegExp][] = [
      [client.openBatch("b 1"), /Invalid batch id "b 1": it must be a non-empty string without spaces/],
      [client.commitBatch(""), /Invalid batch id ""/],
      [client.batchStatus("b-1\r\nFLUSH"), /Invalid batch id "b-1\\r\\nFLUSH"/],
      [client.newBatch({ parentBid: "a b" }), /Invalid parentBid "a b"/],
      [client.newBatch({ success: { jid: "short", jobtype: "X", args: [] } }), /Invalid jid "short"/],
      [client.newBatch({ description: 42 as unknown as string }), /Invalid description 42: use a string/],
      [client.getTracking("a b"), /Invalid jid "a b"/],
      [client.setTracking({ jid: "abcdefgh" }), /Empty tracking update for "abcdefgh": give percent, description or reserveUntil/],
      [client.setTracking({ jid: "abcdefgh", percent: 101 }), /Invalid percent 101: use a whole number from 0 to 100/],
      [client.setTracking({ jid: "abcdefgh", percent: 1.5 }), /Invalid percent 1.5/],
      [client.setTracking({ jid: "abcdefgh", reserveUntil: past }), /Invalid reserveUntil ".+": use a time in the future/],
      [client.setTracking({ jid: "abcdefgh", reserveUntil: new Date("nope") }), /Invalid reserveUntil Invalid Date: use a valid Date/],
    ];
    for (const [promise, message] of refused) {
      await assert.rejects(
        promise,
        (e: Error) => e instanceof ValidationError && message.test(e.message),
      );
    }
    double.assertDone();
  });
});

describe("Enterprise commands on the open-source server", () => {
  test("BATCH and TRACK reach the user as EnterpriseRequiredError; the connection stays usable", async () => {
    await using server = await startFaktory();
    await using client = await connect(server.url);
    const batch = await client.newBatch({ description: "x" }).catch((e) => e);
    assert.ok(batch instanceof EnterpriseRequiredError, String(batch));
    assert.equal(batch.code, "ERR");
    assert.equal(
      batch.message,
      "Batch subsystem is only available in Faktory Enterprise: connect to a Faktory Enterprise server to use it",
    );
    await assert.rejects(client.batchStatus("b-1"), EnterpriseRequiredError);
    await assert.rejects(client.commitBatch("b-1"), EnterpriseRequiredError);
    const track = await client.getTracking("abcdefgh").catch((e) => e);
    assert.ok(track instanceof EnterpriseRequiredError, String(track));
    assert.match(track.message, /^Tracking subsystem is only available in Faktory Enterprise: /);
    await assert.rejects(
      client.setTracking({ jid: "abcdefgh", percent: 5 }),
      EnterpriseRequiredError,
    );
    assert.equal(typeof (await client.info()).now, "string");
  });

  test("unique and expiring options are plain custom data to the open-source server", async () => {
    await using server = await startFaktory();
    await using client = await connect(server.url);
    const options: JobOptions = { jobtype: "Same", queue: "uniq", uniqueFor: 60, expiresIn: 60 };
    const first = buildPayload(options, [1]);
    await client.push(first);
    await client.push(buildPayload(options, [1])); // no NOTUNIQUE without Enterprise
    const fetched = await client.fetch(["uniq"]);
    assert.deepEqual(fetched?.custom, { unique_for: 60, expires_in: 60 });
  });
});

describe("Enterprise job options", () => {
  test("map to custom fields and merge over custom", () => {
    const expiresAt = new Date("2030-01-01T00:00:00Z");
    const job = buildPayload({
      jobtype: "All",
      custom: { x: 1, track: 0, bid: "old" },
      batchId: "b-1",
      tracked: true,
      uniqueFor: 0.5,
      uniqueUntil: "success",
      expiresAt,
    }, []);
    assert.deepEqual(job.custom, {
      x: 1,
      track: 1,
      bid: "b-1",
      unique_for: 0.5,
      unique_until: "success",
      expires_at: "2030-01-01T00:00:00.000Z",
    });
    assert.equal(buildPayload({ jobtype: "Plain", tracked: false }, []).custom, undefined);
    // uniqueUntil may rely on a unique_for given as custom data.
    const raw = buildPayload(
      { jobtype: "Raw", custom: { unique_for: 5 }, uniqueUntil: "start" },
      [],
    );
    assert.deepEqual(raw.custom, { unique_for: 5, unique_until: "start" });
  });

  test("expiresAt and expiresIn replace each other when options merge", () => {
    const at = new Date("2030-01-01T00:00:00Z");
    assert.deepEqual(mergeOptions({ expiresAt: at }, { expiresIn: 60 }), { expiresIn: 60 });
    assert.deepEqual(mergeOptions({ expiresIn: 60 }, { expiresAt: at }), { expiresAt: at });
    assert.deepEqual(mergeOptions({ uniqueFor: 60 }, { uniqueUntil: "start" }), {
      uniqueFor: 60,
      uniqueUntil: "start",
    });
  });

  test("out-of-range values are refused with a ValidationError saying what to use", () => {
    // deno-fmt-ignore
    const cases: [JobOptions, RegExp][] = [
      [{ uniqueFor: -1 }, /^Invalid uniqueFor -1: use a positive number of seconds$/],
      [{ uniqueFor: 0 }, /^Invalid uniqueFor 0/],
      [{ uniqueFor: Number.NaN }, /^Invalid uniqueFor NaN/],
      [{ uniqueFor: "600" as unknown as number }, /^Invalid uniqueFor "600"/],
      [{ uniqueFor: 60, uniqueUntil: "never" as "start" }, /^Invalid uniqueUntil "never": use "success" or "start"$/],
      [{ uniqueUntil: "start" }, /^Invalid uniqueUntil "start" without uniqueFor: set uniqueFor too/],
      [{ expiresAt: new Date("not a date") }, /^Invalid expiresAt Invalid Date: use a valid Date$/],
      [{ expiresAt: "2030-01-01" as unknown as Date }, /^Invalid expiresAt "2030-01-01": use a valid Date$/],
      [{ expiresIn: 0 }, /^Invalid expiresIn 0: use whole seconds, 1 or more$/],
      [{ expiresIn: 1.5 }, /^Invalid expiresIn 1.5/],
      [{ expiresIn: 60, expiresAt: new Date() }, /^Invalid expiresAt with expiresIn: give only one of them$/],
      [{ batchId: "b 1" }, /^Invalid batchId "b 1"/],
      [{ tracked: "yes" as unknown as boolean }, /^Invalid tracked "yes": use true or false$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => buildPayload({ jobtype: "Bad", ...options }, []),
        (e: Error) => e instanceof ValidationError && message.test(e.message),
        `${JSON.stringify(options)} should be refused with ${message}`,
      );
    }
  });
});

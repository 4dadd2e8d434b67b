/**
 * Interoperability with other Faktory clients, both directions, through a
 * real server: jobs pushed here are read by them with args and custom intact,
 * and jobs they push run on our Worker intact.
 *
 * - npm `faktory-worker` (a Node library): tests/fixtures/faktory_worker_node.mjs,
 *   always run with `node`, whatever runtime runs this test.
 * - The Go reference client, github.com/contribsys/faktory/client (v1.10.0, the
 *   server's own module): scripts/interop/main.go, built with `go build` into
 *   .cache/bin/faktory-interop before the tests (skipped when Go is missing).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Job, Producer, silentLogger } from "../mod.ts";
import { currentRuntime, fixturePath, runToEnd } from "./harness/child.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { type Faktory, useFaktory } from "./harness/use_faktory.ts";

/** Every JSON kind, nested, with text that would break a line-based protocol. */
const ARGS = [
  1,
  "two",
  { three: [3] },
  null,
  true,
  -2.5,
  "",
  "a b\r\nc \u00e9 \u2713 \ud83d\ude80",
  [],
];
const CUSTOM = { trace: "abc", nested: { list: [1, "x", null], flag: false } };

/** Runs our Worker on `queue` until one job of `jobtype` has been ACKed; returns that job. */
async function runOneJob(faktory: Faktory, queue: string, jobtype: string): Promise<Job> {
  const done: Job[] = [];
  const failed: unknown[] = [];
  await using worker = faktory.startWorker(
    { queues: [queue] },
    (w) => w.register(jobtype, () => {}),
  );
  worker.on("success", (job) => void done.push(job));
  worker.on("failure", (_job, error) => void failed.push(error));
  await until(() => done.length + failed.length > 0, 20_000, `a ${jobtype} job run`);
  assert.deepEqual(failed, [], "the job did not fail");
  return done[0]!;
}

/** The job is gone from the server: not queued, reserved, retried or dead. */
async function assertFinished({ client, server }: Faktory, jid: string, queue: string) {
  const info = await client.info();
  assert.equal(info.faktory.queues[queue] ?? 0, 0, `queue ${queue} is empty`);
  assert.equal(info.faktory.sets.working, 0, "nothing reserved");
  const failed = [...(await jobsIn(server, "retries")), ...(await jobsIn(server, "dead"))];
  assert.ok(!failed.some((j) => j.jid === jid), `${jid} was not failed`);
}

describe("npm faktory-worker, run by node in a subprocess", () => {
  const node = currentRuntime() === "node" ? process.execPath : "node";
  const script = fixturePath("faktory_worker_node.mjs");

  test("a job our Producer pushes reaches a faktory-worker Worker with args and custom intact", async () => {
    await using faktory = await useFaktory();
    const queue = "fw-receives";
    await using producer = await Producer.connect({
      url: faktory.url,
      logger: silentLogger,
      poolSize: 1,
    });
    const jid = await producer.perform({ jobtype: "FromTs", queue, custom: CUSTOM }, ARGS);
    const { lines } = await runToEnd(node, [script, "work", queue, "FromTs"], {
      FAKTORY_URL: faktory.url,
      FAKTORY_PROVIDER: undefined,
    });
    assert.equal(lines.length, 1, `one job printed: ${lines.join("\n")}`);
    const job = JSON.parse(lines[0]!);
    assert.equal(job.jid, jid);
    assert.equal(job.jobtype, "FromTs");
    assert.equal(job.queue, queue);
    assert.deepEqual(job.args, ARGS);
    assert.deepEqual(job.custom, CUSTOM);
    await assertFinished(faktory, jid, queue);
  });

  test("a job faktory-worker's Client pushes runs on our Worker with args and custom intact", async () => {
    await using faktory = await useFaktory();
    const queue = "fw-sends";
    const { lines } = await runToEnd(
      node,
      [script, "push", queue, "FromNode", JSON.stringify(ARGS), JSON.stringify(CUSTOM)],
      { FAKTORY_URL: faktory.url, FAKTORY_PROVIDER: undefined },
    );
    const jid = lines[0]!;
    assert.match(jid, /^\S{8,}$/, "faktory-worker printed the jid");
    const job = await runOneJob(faktory, queue, "FromNode");
    assert.equal(job.jid, jid);
    assert.equal(job.queue, queue);
    assert.deepEqual(job.args, ARGS);
    assert.deepEqual(job.custom, CUSTOM);
    await assertFinished(faktory, jid, queue);
  });
});

/** The repo root (this file runs from build/node/tests/ on Node). */
function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("no deno.json above this file");
  }
}

/** `go` from PATH, else Go's default install dir (as scripts/install_deps.sh does). */
function findGo(): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(path.delimiter), "/usr/local/go/bin"];
  for (const file of dirs.filter((d) => d !== "").map((d) => path.join(d, "go"))) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Builds scripts/interop into .cache/bin/faktory-interop unless it is newer
 * than its sources. A cold build takes 10-20 s; with Go's build cache warm,
 * about 1 s; an up-to-date binary is not rebuilt. Builds to a temp name and renames, so parallel runs are safe.
 */
async function buildGoInterop(go: string): Promise<string> {
  const root = repoRoot();
  const source = path.join(root, "scripts", "interop");
  const binary = path.join(root, ".cache", "bin", "faktory-interop");
  const built = fs.existsSync(binary) ? fs.statSync(binary).mtimeMs : -1;
  const newest = Math.max(
    ...["main.go", "go.mod", "go.sum"].map((f) => fs.statSync(path.join(source, f)).mtimeMs),
  );
  if (built > newest) return binary;
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const temp = `${binary}.${process.pid}.tmp`;
  try {
    // -C (first): build in the module dir, whose go.mod/go.sum pin the client.
    await runToEnd(
      go,
      ["build", "-C", source, "-mod=readonly", "-buildvcs=false", "-o", temp, "."],
      {},
      110_000,
    );
    fs.renameSync(temp, binary);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return binary;
}

const go = findGo();

describe("the Go reference client (github.com/contribsys/faktory/client)", {
  skip: go === undefined ? "Go is not installed" : false,
}, () => {
  let interop: string;
  before(async () => {
    interop = await buildGoInterop(go!);
  }, { timeout: 120_000 });

  test("a job our Producer pushes is fetched by the Go client with args and custom intact", async () => {
    await using faktory = await useFaktory();
    const queue = "go-receives";
    await using producer = await Producer.connect({
      url: faktory.url,
      logger: silentLogger,
      poolSize: 1,
    });
    const jid = await producer.perform({ jobtype: "FromTs", queue, custom: CUSTOM }, ARGS);
    // The Go program ACKs what it fetched.
    const { lines } = await runToEnd(interop, ["fetch", faktory.url, queue, "10"]);
    assert.equal(lines.length, 1, `one job printed: ${lines.join("\n")}`);
    const job = JSON.parse(lines[0]!);
    assert.equal(job.jid, jid);
    assert.equal(job.jobtype, "FromTs");
    assert.equal(job.queue, queue);
    assert.deepEqual(job.args, ARGS);
    assert.deepEqual(job.custom, CUSTOM);
    await assertFinished(faktory, jid, queue);
  });

  test("a job the Go client pushes runs on our Worker with args and custom intact", async () => {
    await using faktory = await useFaktory();
    const queue = "go-sends";
    const { lines } = await runToEnd(interop, [
      "push",
      faktory.url,
      queue,
      "FromGo",
      JSON.stringify(ARGS),
      JSON.stringify(CUSTOM),
    ]);
    const jid = lines[0]!;
    assert.match(jid, /^\S{8,}$/, "the Go program printed the jid");
    const job = await runOneJob(faktory, queue, "FromGo");
    assert.equal(job.jid, jid);
    assert.equal(job.queue, queue);
    assert.deepEqual(job.args, ARGS);
    assert.deepEqual(job.custom, CUSTOM);
    await assertFinished(faktory, jid, queue);
  });
});

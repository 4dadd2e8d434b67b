// `faktory-ts work`, run as a subprocess on the current runtime (`deno run -A
// cli.ts`, `bun run cli.ts`, or on Node the npm build's bin) with the handler
// modules of tests/fixtures/work/, against a real Faktory that asks for a
// password, which must never be printed. Jobs are pushed with the CLI too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Client, randomJid, silentLogger, Worker, type WorkerHooks } from "../mod.ts";
import { composeHooks, loadModules } from "../cli/modules.ts";
import {
  type Child,
  currentRuntime,
  exitWithin,
  fixturePath,
  runtimeCommand,
  startChild,
} from "./harness/child.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { jobsIn, redis } from "./harness/redis.ts";
import { until } from "./harness/until.ts";
import { sleep } from "./harness/watch.ts";

const PASSWORD = "w0rk/er pw";

/** A module of tests/fixtures/work/ as this runtime loads it (compiled to .js for Node). */
const fixture = (name: string) =>
  fixturePath(`work/${currentRuntime() === "node" ? name.replace(/\.ts$/, ".js") : name}`);
const JOBS = fixture("jobs.ts");
const ECHO = fixture("echo.mjs");

/** Starts the CLI with only the given Faktory settings in its environment. */
function start(args: readonly string[], env: Record<string, string | undefined> = {}): Child {
  const [command, base] = runtimeCommand("cli.ts");
  return startChild(command, [...base, ...args], {
    FAKTORY_URL: undefined,
    FAKTORY_PROVIDER: undefined,
    FAKTORY_QUEUE: undefined,
    FAKTORY_WORKER_ID: undefined,
    NO_COLOR: "1",
    ...env,
  });
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its end; checks that the password was not printed. */
async function cli(args: readonly string[], env: Record<string, string | undefined> = {}) {
  const child = start(args, env);
  const exit = await exitWithin(child, 40_000);
  const run: Run = { code: exit.code, stdout: child.lines.join("\n"), stderr: child.stderr() };
  assertNoSecret(run.stdout + run.stderr);
  return run;
}

function assertNoSecret(text: string): void {
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) {
    assert.ok(!text.includes(secret), `the password was printed:\n${text}`);
  }
}

function exits(run: Run, code: number): Run {
  assert.equal(run.code, code, `exit ${run.code}, expected ${code}\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** Waits until the child's stderr matches `re`; fails if it exits first. */
async function logged(child: Child, re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
  let match: RegExpMatchArray | null = null;
  let exited = false;
  void child.exited.then(() => (exited = true), () => (exited = true));
  await until(
    () => {
      match = child.stderr().match(re);
      if (match === null && exited) throw new Error(`Exited before logging ${re}${child.output()}`);
      return match !== null;
    },
    ms,
    `${re} in the log${child.output()}`,
  );
  return match!;
}

/** The repo root, where the TypeScript sources are (Node runs compiled copies elsewhere). */
function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("no deno.json above this file");
  }
}

describe("faktory-ts work: bad usage", () => {
  test("a bad flag exits 2 and says what to use", async () => {
    const cases: [string[], RegExp][] = [
      [[], /work needs a module that registers handlers/],
      [[JOBS, "--concurrency", "0"], /Invalid --concurrency "0": use a whole number from 1 to/],
      [[JOBS, "-c", "many"], /Invalid --concurrency "many"/],
      [[JOBS, "--fetchers", "1.5"], /Invalid --fetchers "1.5"/],
      [[JOBS, "-q", "no spaces"], /Invalid --queue "no spaces": use only letters/],
      [[JOBS, "-q", "mail,0"], /Invalid --queue "mail,0": use NAME or NAME,WEIGHT/],
      [[JOBS, "-q", "mail,x"], /Invalid --queue "mail,x"/],
      [[JOBS, "-q", "mail", "-q", "mail,2"], /Queue "mail" is given twice/],
      [[JOBS, "--shutdown-timeout", "soon"], /Invalid --shutdown-timeout "soon": use seconds/],
      [[JOBS, "--shutdown-timeout", "2d"], /use at most a day/],
      [[JOBS, "--log-format", "xml"], /Invalid --log-format "xml": use pretty .* or json/],
      [[JOBS, "--log-level", "loud"], /Invalid --log-level "loud": use debug, info, warn, error/],
      [[JOBS, "--processes", "0"], /Invalid --processes "0": use a whole number from 1/],
      [[JOBS, "--wid", "a wid"], /Invalid --wid "a wid"/],
      [[JOBS, "--bogus"], /Unknown option '--bogus'/],
      [[JOBS, "--url", "http://localhost:7419"], /Invalid Faktory URL/],
    ];
    for (const [args, message] of cases) {
      const run = exits(await cli(["work", ...args]), 2);
      assert.match(run.stderr, message, `faktory-ts work ${args.join(" ")}`);
      assert.match(run.stderr, /Run 'faktory-ts work --help' for usage/);
    }
  });

  test("a module that cannot be loaded, or registers nothing, exits 2", async () => {
    const cases: [string[], RegExp][] = [
      [[fixture("missing.ts")], /Module .*missing\.[jt]s not found: there is no /],
      [[fixture("broken.ts")], /Cannot load module .*broken\.[jt]s: broken on purpose/],
      [[fixture("no_default.ts")], /no_default\.[jt]s has no default export: export the function/],
      [[JOBS, fixture("empty.ts")], /empty\.[jt]s registered nothing: its default export must/],
      [[JOBS, "--processes", "2", fixture("missing.ts")], /not found/],
    ];
    for (const [args, message] of cases) {
      const run = exits(await cli(["work", ...args]), 2);
      assert.match(run.stderr, message, `faktory-ts work ${args.join(" ")}`);
    }
    // Deno and Bun load TypeScript themselves; Node says which loader to use.
    const ts = path.join(repoRoot(), "tests", "fixtures", "work", "jobs.ts");
    const url = "tcp://127.0.0.1:1";
    if (currentRuntime() === "node") {
      const run = exits(await cli(["work", ts, "--url", url]), 2);
      assert.match(run.stderr, /Cannot load module .*jobs\.ts: .*NODE_OPTIONS="--import tsx"/s);
    } else {
      const run = exits(await cli(["work", ts, "--url", url]), 1);
      assert.match(run.stderr, /starting: .*jobtypes Sleep, Stubborn, Fail, Crash/);
    }
  });

  test("a server that cannot be reached exits 1, the password masked", async () => {
    const url = `tcp://:${encodeURIComponent(PASSWORD)}@127.0.0.1:1`;
    const run = exits(await cli(["work", JOBS, ECHO], { FAKTORY_URL: url }), 1);
    assert.match(run.stderr, /server tcp:\/\/:\*\*\*@127\.0\.0\.1:1;/);
    assert.match(run.stderr, /could not start: ConnectionError/);
    assert.ok(!run.stderr.includes("\x1b["), "no colours with NO_COLOR");
    const coloured = exits(
      await cli(["work", JOBS], { FAKTORY_URL: url, FORCE_COLOR: "1", NO_COLOR: undefined }),
      1,
    );
    assert.ok(coloured.stderr.includes("\x1b[31mERROR\x1b[0m"), `FORCE_COLOR paints the level`);
    const plain = await cli(["work", JOBS], { FAKTORY_URL: url, FORCE_COLOR: "1", NO_COLOR: "1" });
    assert.ok(!plain.stderr.includes("\x1b["), "NO_COLOR wins");
  });
});

describe("faktory-ts work against a real Faktory", () => {
  let server: FaktoryServer;
  let client: Client;
  let env: Record<string, string>;
  before(async () => {
    server = await startFaktory();
    client = await Client.connect({ url: server.url, logger: silentLogger });
    // Through FAKTORY_PROVIDER, as the library reads it.
    env = { FAKTORY_PROVIDER: "MY_FAKTORY", MY_FAKTORY: server.url };
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  const processed = async (c = client) => (await c.info()).faktory.total_processed;
  const queueSize = async (queue: string) => (await client.info()).faktory.queues[queue] ?? 0;
  const push = async (jobtype: string, args: unknown[], ...options: string[]) =>
    exits(await cli(["push", jobtype, JSON.stringify(args), ...options], env), 0).stdout.trim();

  test("jobs pushed with the CLI are worked and ACKed; SIGTERM stops with a summary", async () => {
    // A server with a password, which is never printed. (Few connections: a
    // password handshake takes ~0.7 s of hashing on Node, within the server's 2 s.)
    await using secure = await startFaktory({ password: PASSWORD });
    await using secureClient = await Client.connect({ url: secure.url, logger: silentLogger });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fk-work-"));
    const file = path.join(dir, "jobs.jsonl");
    const job = (jobtype: string, args: unknown[], queue: string) =>
      JSON.stringify({ jobtype, args, queue });
    fs.writeFileSync(
      file,
      [1, 2, 3].map((i) => job("Sleep", [20 * i], "w-critical")).join("\n") + "\n" +
        [1, 2].map((i) => job("Echo", [i], "w-default")).join("\n") + "\n",
    );
    const url = { FAKTORY_URL: secure.url };
    exits(await cli(["push", "--file", file], url), 0);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal((await secureClient.info()).faktory.queues["w-critical"], 3);

    await using worker = start(
      ["work", JOBS, ECHO, "-q", "w-critical,3", "-q", "w-default", "-c", "4", "--fetchers", "1"],
      url,
    );
    const [startLine] = await logged(worker, /Worker (\S+) starting: .*/);
    assert.match(startLine, /queues w-critical \(weight 3\), w-default \(weight 1\), weighted/);
    assert.match(startLine, /concurrency 4; server tcp:\/\/:\*\*\*@127\.0\.0\.1:\d+;/);
    assert.match(startLine, /jobtypes Sleep, Stubborn, Fail, Crash, Echo/);
    await until(async () => (await processed(secureClient)) === 5, 30_000, "5 ACKs");
    const queues = (await secureClient.info()).faktory.queues;
    assert.equal((queues["w-critical"] ?? 0) + (queues["w-default"] ?? 0), 0, "queues empty");
    assert.match(worker.stderr(), /echo \[1\]/);

    worker.signal("SIGTERM");
    const exit = await exitWithin(worker, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.output());
    assert.match(worker.stderr(), /done after \d+s: 5 job\(s\) processed, 0 failed/);
    assert.equal((await secureClient.info()).faktory.sets.retries, 0);
    assertNoSecret(worker.output());
  });

  test("a module's startup hook runs before work, its shutdown hook after, and may push", async () => {
    await using worker = start(["work", fixture("lifecycle.mjs"), "--wid", "hooked-1"], env);
    await logged(worker, /hook: startup of hooked-1/);
    worker.signal("SIGTERM");
    const exit = await exitWithin(worker, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.output());
    assert.match(worker.stderr(), /hook: shutdown pushed Farewell/);
    assert.equal(await queueSize("w-farewell"), 1, "the shutdown hook's job is on the server");
  });

  test("SIGTERM mid-job waits for the job to finish, then exits 0", async () => {
    const before = await processed();
    const jid = await push("Sleep", [1500], "-q", "w-slow");
    await using worker = start(["work", JOBS, "-q", "w-slow", "--log-level", "debug"], env);
    await logged(worker, new RegExp(`Job ${jid} \\(Sleep\\) started`));
    worker.signal("SIGTERM");
    const exit = await exitWithin(worker, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.output());
    const log = worker.stderr();
    const stopping = log.indexOf("SIGTERM: stopping");
    const done = log.search(new RegExp(`Job ${jid} \\(Sleep\\) done in \\d+ ms`));
    assert.ok(stopping >= 0 && done > stopping, `the job finished after SIGTERM${worker.output()}`);
    assert.match(log, /1 job\(s\) processed, 0 failed/);
    assert.equal((await processed()) - before, 1, "the job was ACKed");
  });

  test("JSON logs; TTIN lists the running job, TSTP quiets, a second SIGINT fails it for a retry", async () => {
    const jid = await push("Stubborn", [60_000], "-q", "w-force", "--retry", "3");
    await using worker = start(
      ["work", JOBS, "-q", "w-force", "--log-format", "json", "--log-level", "debug"],
      env,
    );
    await logged(worker, new RegExp(`"msg":"Job ${jid} \\(Stubborn\\) started"`));
    process.kill(worker.process.pid!, "SIGTTIN");
    await logged(worker, /running for \d+ ms/);
    worker.signal("SIGTSTP");
    await logged(worker, /is quiet: no new jobs/);
    worker.signal("SIGINT");
    await logged(worker, /SIGINT: stopping/);
    worker.signal("SIGINT");
    const exit = await exitWithin(worker, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, worker.output());

    const lines = worker.stderr().trim().split("\n").map((line) => JSON.parse(line));
    for (const line of lines) {
      assert.equal(typeof line.time, "string");
      assert.ok(["debug", "info", "warn", "error"].includes(line.level), line.level);
      assert.equal(typeof line.msg, "string");
      assert.equal(typeof line.wid, "string");
    }
    const listed = lines.find((l) => /running for/.test(l.msg));
    assert.equal(listed.jid, jid);
    assert.equal(listed.jobtype, "Stubborn");
    assert.equal(listed.queue, "w-force");
    assert.equal(typeof listed.elapsedMs, "number");
    assert.ok(lines.some((l) => l.level === "warn" && l.jid === jid && /failed/.test(l.msg)));
    const retried = (await jobsIn(server, "retries")).find((j) => j.jid === jid);
    assert.equal((retried?.failure as Record<string, unknown>)?.errtype, "WorkerStoppedError");
    await client.clear("retries");
  });

  test("--processes 2: a crashed process is restarted; a killed one's jobs stay reserved for the server to retry", async () => {
    const before = await processed();
    const wid = `fleet-${randomJid().slice(0, 6)}`;
    await using fleet = start(
      ["work", JOBS, ECHO, "--processes", "2", "--wid", wid, "-c", "2", "-q", "w-fleet"],
      env,
    );
    await logged(fleet, new RegExp(`Worker ${wid}-1 running`));
    await logged(fleet, new RegExp(`Worker ${wid}-2 running`));

    // A job that ends its process: the supervisor says why, and starts another.
    const crash = await push("Crash", [3], "-q", "w-fleet", "--retry", "0");
    const [, n] = await logged(
      fleet,
      /Worker process (\d) \(wid \S+, pid \d+\) exited with code 3; its last stderr line: crashing on purpose with code 3; restarting it in 1 s/,
    );
    await logged(
      fleet,
      new RegExp(`Worker process ${n} started(?:[\\s\\S]*Worker process ${n} started)`),
    );
    await logged(fleet, new RegExp(`(?:Worker ${wid}-${n} running[\\s\\S]*){2}`));

    // The crashed process's other FETCH is still blocked in the server, which
    // reserves the next job for that dead connection when one comes within its
    // 2 s: CI saw a sleeper go there. Let that FETCH run out first.
    await sleep(2_500);
    // Four long jobs fill both processes' two slots; one process is killed.
    const sleepers = await Promise.all(
      [1, 2, 3, 4].map(() => push("Sleep", [2500], "-q", "w-fleet")),
    );
    await until(
      async () => (await client.info()).faktory.sets.working === 5,
      20_000,
      "the crashed job and four sleepers reserved",
    );
    const pids = [...fleet.stderr().matchAll(/Worker process 1 started: wid \S+, pid (\d+)/g)];
    process.kill(Number(pids.at(-1)![1]), "SIGKILL");
    await logged(
      fleet,
      /Worker process 1 \(wid \S+, pid \d+\) was killed by SIGKILL; .*restarting/,
    );
    // On failure, say what the fleet printed and how far the count got.
    const acked = (n: number, what: string, ms: number) =>
      until(async () => (await processed()) - before === n, ms, what).catch(async (e) =>
        assert.fail(`${e.message} (${(await processed()) - before} ACKed)${fleet.output()}`)
      );
    await acked(2, "the other two ACKed", 20_000);
    await Promise.all([1, 2, 3, 4].map((i) => push("Echo", [i], "-q", "w-fleet")));
    await acked(6, "four echoes ACKed", 30_000);

    fleet.signal("SIGTERM");
    const exit = await exitWithin(fleet, 20_000);
    assert.deepEqual(exit, { code: 0, signal: null }, fleet.output());
    assert.match(fleet.stderr(), /All worker processes stopped after \d+s \(2 restart\(s\)\)/);

    // Every job accounted for: ACKed, or reserved by the process that died with it.
    const reserved = (await redis(server, "ZRANGE", "working", "0", "-1"))
      .map((line) => JSON.parse(line) as { job: { jid: string }; wid: string });
    const reservedJids = reserved.map((r) => r.job.jid).sort();
    assert.equal(reservedJids.length, 3, JSON.stringify(reserved));
    assert.ok(reservedJids.includes(crash));
    const lost = reservedJids.filter((j) => j !== crash);
    assert.ok(lost.every((j) => sleepers.includes(j)), "the killed process held two sleepers");
    assert.ok(reserved.filter((r) => r.job.jid !== crash).every((r) => r.wid === `${wid}-1`));
    assert.equal((await processed()) - before, 6, "two sleepers and four echoes ACKed");
    assert.equal(await queueSize("w-fleet"), 0);
    assert.equal((await jobsIn(server, "retries")).length, 0);
  });
});

describe("faktory-ts work: module hooks", () => {
  test("composed: startups and quiets in module order, shutdowns in reverse", async () => {
    const calls: string[] = [];
    const hooks = (name: string): WorkerHooks => ({
      startup: () => void calls.push(`${name}.startup`),
      quiet: () => Promise.resolve(void calls.push(`${name}.quiet`)),
      shutdown: () => void calls.push(`${name}.shutdown`),
    });
    const composed = composeHooks([
      hooks("a"),
      { startup: () => void calls.push("b.startup") },
      hooks("c"),
    ]);
    const worker = new Worker({ logger: silentLogger });
    await composed.startup!(worker);
    await composed.quiet!(worker);
    await composed.shutdown!(worker);
    assert.deepEqual(calls, [
      "a.startup",
      "b.startup",
      "c.startup",
      "a.quiet",
      "c.quiet",
      "c.shutdown",
      "a.shutdown",
    ]);
  });

  test("a failing startup stops the next ones; every shutdown runs and the first error is thrown", async () => {
    const calls: string[] = [];
    const worker = new Worker({ logger: silentLogger });
    const composed = composeHooks([
      {
        startup: () => {
          throw new Error("a failed");
        },
        shutdown: () => void calls.push("a.shutdown"),
      },
      {
        startup: () => void calls.push("b.startup"),
        shutdown: () => Promise.reject(new Error("b failed")),
      },
    ]);
    await assert.rejects(async () => await composed.startup!(worker), /a failed/);
    await assert.rejects(async () => await composed.shutdown!(worker), /b failed/);
    assert.deepEqual(calls, ["a.shutdown"]);
    assert.equal(composeHooks([{}, {}]).startup, undefined, "no hook, nothing to call");
  });

  test("a module's hook exports are loaded; one that is not a function is refused", async () => {
    const modules = await loadModules([fixture("hooks.mjs")]);
    const worker = new Worker({ logger: silentLogger });
    await modules.hooks.startup!(worker);
    assert.deepEqual((globalThis as { hookCalls?: string[] }).hookCalls, [`startup ${worker.wid}`]);
    assert.deepEqual(await modules.register(worker), ["Hooked"]);
    await assert.rejects(
      loadModules([fixture("bad_hook.mjs")]),
      /The shutdown export of .*bad_hook\.mjs is not a function/,
    );
  });
});

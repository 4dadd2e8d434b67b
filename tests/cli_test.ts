// The command line (cli.ts) run as a subprocess on the current runtime:
// `deno run -A cli.ts`, `bun cli.ts`, or on Node the npm build's bin
// (build/node/cli.js links to npm/esm/cli.js), against a real server that
// asks for a password, which must never be printed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Client, type JobPayload, randomJid, silentLogger } from "../mod.ts";
import { exitWithin, runtimeCommand, startChild } from "./harness/child.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";

const PASSWORD = "s3cr/et pw";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to its end with only the given Faktory settings in its environment. */
async function cli(args: readonly string[], env: Record<string, string | undefined> = {}) {
  const [command, base] = runtimeCommand("cli.ts");
  const child = startChild(command, [...base, ...args], {
    FAKTORY_URL: undefined,
    FAKTORY_PROVIDER: undefined,
    FAKTORY_QUEUE: undefined,
    NO_COLOR: "1",
    ...env,
  });
  const exit = await exitWithin(child, 40_000);
  const run: Run = { code: exit.code, stdout: child.lines.join("\n"), stderr: child.stderr() };
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) {
    assert.ok(
      !run.stdout.includes(secret) && !run.stderr.includes(secret),
      `the password was printed by ${args.join(" ")}:\n${run.stdout}\n${run.stderr}`,
    );
  }
  return run;
}

/** Asserts the exit code, showing the output when it differs. */
function exits(run: Run, code: number): Run {
  assert.equal(run.code, code, `exit ${run.code}, expected ${code}\n${run.stdout}\n${run.stderr}`);
  return run;
}

describe("cli without a server", () => {
  test("--help explains every command and exits 0", async () => {
    const main = exits(await cli(["--help"]), 0);
    for (const command of ["push", "info", "queue", "mutate", "FAKTORY_URL", "Exit codes"]) {
      assert.match(main.stdout, new RegExp(command));
    }
    assert.match(exits(await cli(["push", "--help"]), 0).stdout, /--reserve-for/);
    assert.match(exits(await cli(["help", "mutate"]), 0).stdout, /requeue/);
  });

  test("bad usage exits 2 and says what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: faktory-ts <command>/],
      [["frobnicate"], /Unknown command "frobnicate"/],
      [["info", "--bogus"], /Unknown option '--bogus'[\s\S]*faktory-ts info --help/],
      [["push"], /push needs a jobtype/],
      [["push", "Job", "[1,"], /args is not valid JSON/],
      [["push", "Job", '{"a":1}'], /args must be a JSON array/],
      [["push", "Job", "--retry", "many"], /Invalid --retry "many"/],
      [["push", "Job", "--in", "soon"], /Invalid --in "soon"/],
      [["push", "Job", "--at", "tomorrow"], /Invalid --at "tomorrow"/],
      [["push", "Job", "--at", "2030-01-01", "--in", "5"], /--at or --in, not both/],
      [["push", "Job", "--custom", "[1]"], /--custom must be a JSON object/],
      [["push", "Job", "--queue", "no spaces"], /Invalid queue/],
      [["push", "--file", "/nonexistent/jobs.jsonl"], /Cannot read --file/],
      [["queue", "shuffle", "q"], /Unknown queue action "shuffle"/],
      [["queue", "pause"], /needs queue names, or --all/],
      [["mutate", "requeue", "dead"], /needs a filter/],
      [["mutate", "kill", "dead", "--all"], /use it on retries or scheduled/],
      [["mutate", "requeue", "graveyard", "--all"], /Unknown set "graveyard"/],
      [["mutate", "discard", "dead", "--jid", "abcdefgh", "--jobtype", "X"], /Give --jid alone/],
      [["info", "--url", `tcp://:${encodeURIComponent(PASSWORD)}@localhost`], /has no port/],
      [["info"], /FAKTORY_URL: Invalid Faktory URL "http:/],
    ];
    for (const [args, message] of cases) {
      const env = args.length === 1 && args[0] === "info" ? { FAKTORY_URL: "http://x:1" } : {};
      const run = exits(await cli(args, env), 2);
      assert.match(run.stderr, message, `faktory-ts ${args.join(" ")}`);
    }
  });

  test("a server that cannot be reached exits 1 without printing the password", async () => {
    const url = `tcp://:${encodeURIComponent(PASSWORD)}@127.0.0.1:1`;
    const run = exits(await cli(["info", "--timeout", "5000"], { FAKTORY_URL: url }), 1);
    assert.match(run.stderr, /ConnectionError/);
  });
});

describe("cli against a real Faktory", () => {
  let server: FaktoryServer;
  let client: Client;
  let tmp: string;
  let env: Record<string, string>;
  before(async () => {
    server = await startFaktory({ password: PASSWORD });
    client = await Client.connect({ url: server.url, logger: silentLogger });
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "fk-cli-"));
    // Through FAKTORY_PROVIDER, as the library reads it.
    env = { FAKTORY_PROVIDER: "MY_FAKTORY", MY_FAKTORY: server.url };
  });
  after(async () => {
    await client.close();
    await server.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  test("push sends one job with its options and prints its jid", async () => {
    const run = exits(
      await cli([
        "push",
        "SendEmail",
        '["ada@example.com", 2]',
        "--queue",
        "cli-mail",
        "--retry",
        "3",
        "--reserve-for",
        "120",
        "--custom",
        '{"tenant":"acme"}',
        "--backtrace",
        "5",
      ], env),
      0,
    );
    const jid = run.stdout.trim();
    assert.match(jid, /^[0-9a-f]{24}$/);
    const job = await client.fetch(["cli-mail"]);
    assert.equal(job?.jid, jid);
    assert.equal(job?.jobtype, "SendEmail");
    assert.deepEqual(job?.args, ["ada@example.com", 2]);
    assert.equal(job?.retry, 3);
    assert.equal(job?.reserve_for, 120);
    assert.equal(job?.backtrace, 5);
    assert.deepEqual(job?.custom, { tenant: "acme" });
    await client.ack(jid);
  });

  test("push --in and --at schedule the job; --url wins over the environment", async () => {
    const url = ["--url", server.url];
    const wrong = { FAKTORY_URL: "tcp://127.0.0.1:1" };
    const later = exits(
      await cli(["push", "Later", "--in", "1h", "--jid", randomJid(), ...url], wrong),
      0,
    );
    const at = "2031-05-06T07:08:09.000Z";
    const fixed = exits(await cli(["push", "Fixed", "[]", "--at", at, "--once", ...url], wrong), 0);
    const scheduled = await jobsIn(server, "scheduled");
    const find = (jid: string) => scheduled.find((j) => j.jid === jid.trim());
    const inAnHour = Date.parse(find(later.stdout)?.at as string) - Date.now();
    assert.ok(inAnHour > 3_500_000 && inAnHour <= 3_600_000, `at is in ${inAnHour} ms`);
    assert.equal(find(fixed.stdout)?.at, at);
    assert.equal(find(fixed.stdout)?.retry, -1);
    await client.clear("scheduled");
  });

  test("push --file pushes a JSON-lines file in batches, with progress on stderr", async () => {
    const file = path.join(tmp, "jobs.jsonl");
    const lines = Array.from(
      { length: 2_345 },
      (_, i) =>
        i % 3 === 0
          ? JSON.stringify({ jobtype: "Obj", args: [i], queue: "cli-objects", custom: { i } })
          : JSON.stringify([i]),
    );
    await fs.writeFile(file, lines.join("\n") + "\n\n");
    const run = exits(await cli(["push", "Arr", "--file", file, "--queue", "cli-arrays"], env), 0);
    const jids = run.stdout.split("\n");
    assert.equal(jids.length, 2_345);
    assert.equal(new Set(jids).size, 2_345);
    assert.match(run.stderr, /pushed 1000\/2345 jobs/);
    assert.match(run.stderr, /pushed 2345 of 2345 jobs from .*jobs\.jsonl/);
    const queues = (await client.info()).faktory.queues;
    assert.equal(queues["cli-objects"], 782);
    assert.equal(queues["cli-arrays"], 1_563);
    const first = await client.fetch(["cli-objects"]);
    assert.equal(first?.jid, jids[0], "jids are printed in file order");
    assert.deepEqual(first?.custom, { i: 0 });

    // A bad line anywhere: nothing is pushed, and the line is named.
    await fs.writeFile(file, `${JSON.stringify([1])}\n{"jobtype":"X","arg":[]}\n`);
    const bad = exits(await cli(["push", "Arr", "--file", file, "--queue", "cli-bad"], env), 2);
    assert.match(bad.stderr, /line 2: unknown field "arg"/);
    assert.equal((await client.info()).faktory.queues["cli-bad"], undefined);
    await client.removeQueues(["cli-objects", "cli-arrays"]);
  });

  test("info prints a summary, or the INFO reply with --json", async () => {
    await client.push({ jid: randomJid(), jobtype: "Waiting", args: [], queue: "cli-info" });
    const run = exits(await cli(["info"], env), 0);
    assert.match(run.stdout, /^Faktory \d+\.\d+\.\d+ at tcp:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    assert.match(run.stdout, /enqueued\s+\d+/);
    assert.match(run.stdout, /dead\s+\d+/);
    assert.match(run.stdout, /cli-info\s+1/);
    const json = JSON.parse(exits(await cli(["info", "--json"], env), 0).stdout);
    assert.equal(json.faktory.queues["cli-info"], 1);
    assert.equal(typeof json.server.faktory_version, "string");
    await client.removeQueues(["cli-info"]);
  });

  test("queue pause, resume, latency and remove", async () => {
    await client.push({ jid: randomJid(), jobtype: "Q", args: [], queue: "cli-q" });
    assert.match(exits(await cli(["queue", "pause", "cli-q"], env), 0).stdout, /paused cli-q/);
    assert.equal(await client.fetch(["cli-q"]), null, "a paused queue is skipped");
    exits(await cli(["queue", "resume", "--all"], env), 0);
    const latency = JSON.parse(
      exits(await cli(["queue", "latency", "cli-q", "--json"], env), 0).stdout,
    );
    assert.ok(latency["cli-q"] > 0, `latency ${latency["cli-q"]}`);
    assert.match(exits(await cli(["queue", "latency", "cli-q"], env), 0).stdout, /cli-q\s+\d/);
    exits(await cli(["queue", "remove", "cli-q"], env), 0);
    assert.equal((await client.info()).faktory.queues["cli-q"] ?? 0, 0);
  });

  test("mutate requeues, kills, discards and clears", async () => {
    const failed = async (jobtype: string, retry: number): Promise<JobPayload> => {
      const job = { jid: randomJid(), jobtype, args: [jobtype], queue: `cli-m-${jobtype}`, retry };
      await client.push(job);
      assert.equal((await client.fetch([job.queue]))?.jid, job.jid);
      await client.fail(job.jid, new Error("boom"));
      return job;
    };
    const jidsIn = async (set: "retries" | "dead") =>
      (await jobsIn(server, set)).map((j) => j.jid as string).sort();

    const dead = await failed("Mailer", -1);
    const flaky = await failed("Flaky", 5);
    const other = await failed("Other", 5);
    assert.match(
      exits(await cli(["mutate", "requeue", "dead", "--jobtype", "Mailer"], env), 0).stdout,
      /requeued jobtype Mailer of dead/,
    );
    assert.equal((await client.fetch([dead.queue!]))?.jid, dead.jid);
    await client.ack(dead.jid);

    exits(await cli(["mutate", "kill", "retries", "--jid", flaky.jid], env), 0);
    assert.deepEqual(await jidsIn("dead"), [flaky.jid]);
    exits(await cli(["mutate", "discard", "retries", "--match", "*Other*"], env), 0);
    assert.ok(!(await jidsIn("retries")).includes(other.jid));
    exits(await cli(["mutate", "clear", "dead"], env), 0);
    assert.deepEqual(await jidsIn("dead"), []);
  });

  test("--ca trusts a private CA for tcp+tls", async () => {
    await using tlsServer = await startFaktory({ tls: true });
    const ca = path.join(tmp, "ca.pem");
    await fs.writeFile(ca, tlsServer.caCert!);
    const run = exits(await cli(["info", "--url", tlsServer.url, "--ca", ca]), 0);
    assert.match(run.stdout, /^Faktory .* at tcp\+tls:\/\/localhost:/);
    const untrusted = exits(await cli(["info", "--url", tlsServer.url, "--timeout", "5000"]), 1);
    assert.match(untrusted.stderr, /certificate|TLS|ConnectionError/i);
    exits(await cli(["info", "--url", tlsServer.url, "--ca", path.join(tmp, "missing.pem")]), 2);
  });

  test("a wrong password exits 1 and is not printed", async () => {
    const url = server.url.replace(encodeURIComponent(PASSWORD), "wrong-one");
    const run = exits(await cli(["info", "--url", url]), 1);
    assert.match(run.stderr, /AuthenticationError|password/i);
    assert.ok(!run.stderr.includes("wrong-one"), run.stderr);
  });
});

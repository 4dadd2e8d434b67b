/**
 * Runs the whole test pipeline (`deno task test`):
 *
 *   check -> install_deps.sh -> build:npm -> the passes below -> check:jsr, check:pack
 *
 * Passes: the suite on Deno, Bun and Node (Node against the npm build) with
 * the default Faktory (scripts/faktory, 1.10.0; `FAKTORY_BIN` overrides it),
 * `compat`, the suite on Bun against each compatibility build
 * (scripts/faktory-X.Y.Z, today 1.9.4), `workerd`, the Cloudflare Workers
 * tests (driven by Deno, they run Workers in workerd from npm), and, only
 * when asked for (`--only bench`, `deno task test:bench`), `bench`, the bench
 * smoke test (see ONE_PASS). Each pass runs its test files in parallel (the runner's
 * own option), longest first; the passes and the packaging checks run two
 * at a time (see PASS_NAMES). Each writes its
 * output to build/reports/<name>.log,
 * shown in full if it fails. The summary has a line per step and pass (the
 * server version, counts, time), a line per server version, and last
 * `N passed, K failed` alone on a line (CI reads it). Exits non-zero if
 * anything failed or a pass ran no test.
 *
 * Each pass gets `FAKTORY_BIN` and `FAKTORY_EXPECT_VERSION`; the harness
 * refuses a binary of another version and checks INFO's faktory_version, so
 * the version in the summary is the one the tests saw.
 *
 * The soak test is its own step: `deno task soak` (.ci/run runs it after this).
 *
 * Usage: deno task test [-- options] [test files...]
 *   --only NAME           only these passes: deno, bun, node, workerd, compat, bench
 *                         (repeatable, or a comma list; the packaging checks
 *                         run only when every default pass does; bench runs
 *                         only when named)
 *   --skip-check          skip `deno task check`
 *   --skip-deps           skip `bash scripts/install_deps.sh`
 *   --skip-build          skip `deno task build:npm` (Node then runs the existing npm/)
 *   --files-at-once N     test files each pass runs at once (default 4)
 *   --jobs-at-once N      passes and packaging checks run at once (default 2)
 *   --timeout-minutes N   stop a pass (its whole process group) after N minutes
 *                         (default: $TEST_TIMEOUT_MINUTES or 15; a test file
 *                         whose failed test left a handle open never ends)
 *   test files            default: every tests/*_test.ts
 *
 * How each runtime runs the suite (node:test + node:assert; counts come from
 * each runner's JUnit report):
 * - Deno: `deno test -A --parallel` (DENO_JOBS files at once); `--no-check`
 *   after the check step, which type-checked tests/ already.
 * - Bun: `bun test --parallel=N --timeout=180000 ./<files>`. The `./` matters:
 *   without it Bun treats arguments as substring filters.
 * - Node: tsc -p tsconfig.tests.json compiles tests/ to build/node/tests/*.js;
 *   build/node/mod.js and build/node/src are symlinks into npm/esm/, so the
 *   compiled tests' `../mod.js` / `../src/x.js` imports load the npm build
 *   itself (Node resolves symlinks to real paths: one module instance). Then
 *   `node --test --test-concurrency=N`.
 *
 * @module
 */

import {
  bin,
  err,
  exists,
  type FaktoryPin,
  faktoryPin,
  faktoryVersion,
  loadAverage,
  out,
  outBytes,
  parseCommandLine,
  root,
  run,
  seconds,
  toolPath,
  usageError,
} from "./shared.ts";

type Runtime = "deno" | "bun" | "node";
/**
 * The passes, in the order they start, two at a time (the longest first). Node's password handshakes are the slowest
 * (see ONE_AT_A_TIME); a hash that would miss the server's HELLO deadline
 * starts over (src/connect.ts), so Node no longer needs the machine alone.
 * Three at a time took 325 s against 441 s, but on Node twenty password
 * connects at once (one hashing slot) then missed their 10 s timeout.
 */
const PASS_NAMES = ["node", "bun", "deno", "workerd", "compat", "bench"] as const;
type PassName = typeof PASS_NAMES[number];
/**
 * The passes of a plain `deno task test`: all but the bench smoke test, which
 * keeps both cores busy for a minute and tests the benchmark, not the
 * library. CI runs it as a step of its own (`deno task test:bench`).
 */
const DEFAULT_PASSES: readonly PassName[] = PASS_NAMES.filter((p) => p !== "bench");
/** The runtime of the compatibility passes: the fastest of the three to run the suite. */
const COMPAT_RUNTIME: Runtime = "bun";
/**
 * Test files that run in one pass only, so that no pass reports them as
 * skipped. The bench smoke test starts every runtime itself, keeping both
 * cores busy for a minute: it is a pass of its own (on Deno), never beside
 * the others, so it does not starve their timing-sensitive tests (password
 * handshakes must finish within the server's 2 s). The export check needs
 * the npm/ just built, which only the Node pass is sure to follow.
 */
const ONE_PASS: Record<string, PassName> = {
  "tests/bench_test.ts": "bench",
  "tests/cloudflare_test.ts": "workerd",
  "tests/exports_test.ts": "node",
};

/**
 * Files full of password handshakes, which Node and Deno run one at a time
 * after their other files: they hash with one Web Crypto call per SHA-256
 * round (thousands per handshake, 0.3-0.8 s when idle), and beside other
 * test files a handshake misses Faktory's 2 s HELLO deadline. Bun hashes in
 * ~50 ms. (A synchronous SHA-256 from the runtime takes ~40 ms on all three.)
 */
const ONE_AT_A_TIME = new Set([
  "tests/cli_test.ts",
  "tests/client_test.ts",
  "tests/security_test.ts",
]);

/**
 * Files that count the whole process's descriptors (/proc/self/fd). Deno's
 * `--parallel` runs test files as workers of one process, so beside other
 * files such a test counts their sockets too (CI saw "9 leaked" that were
 * another file's); Deno runs them one at a time. Node and Bun run each file
 * in a process of its own.
 */
const PROCESS_WIDE = new Set(["tests/fd_leak_test.ts"]);

const reports = `${root}/build/reports`;
Deno.chdir(root);

// ---- arguments -----------------------------------------------------------------

const usage = `usage: deno task test [--only deno|bun|node|workerd|compat|bench]... [--skip-check]
                      [--skip-deps] [--skip-build] [--files-at-once N] [--jobs-at-once N]
                      [--timeout-minutes N] [test files...]`;

const fail = (message: string) => usageError(usage, message);

const { values: opts, positionals: paths } = parseCommandLine(usage, {
  allowPositionals: true,
  options: {
    only: { type: "string", multiple: true, default: [] },
    "skip-check": { type: "boolean", default: false },
    "skip-deps": { type: "boolean", default: false },
    "skip-build": { type: "boolean", default: false },
    "files-at-once": { type: "string", default: "4" },
    "jobs-at-once": { type: "string", default: "2" },
    "timeout-minutes": {
      type: "string",
      default: Deno.env.get("TEST_TIMEOUT_MINUTES") ?? "15",
    },
  },
});
const count = (name: string, value: string) => {
  const n = Number(value);
  if (!(n > 0)) fail(`--${name} must be a positive number`);
  return n;
};
const filesAtOnce = count("files-at-once", opts["files-at-once"]);
const jobsAtOnce = count("jobs-at-once", opts["jobs-at-once"]);
const timeoutMinutes = count("timeout-minutes", opts["timeout-minutes"]);
const only = new Set(opts.only.flatMap((o) => o.split(",")).map((o) => o.trim()).filter(Boolean));
for (const name of only) {
  if (!(PASS_NAMES as readonly string[]).includes(name)) {
    fail(`unknown pass "${name}" (expected ${PASS_NAMES.join(", ")})`);
  }
}
for (const path of paths) {
  if (!/^(\.\/)?tests\/.*\.ts$/.test(path)) fail(`test files are .ts files under tests/: ${path}`);
}
// Without --only: the default passes, and bench if its file is named.
const named = paths.some((p) => ONE_PASS[p.replace(/^\.\//, "")] === "bench");
const selected = PASS_NAMES.filter((p) =>
  only.size === 0 ? DEFAULT_PASSES.includes(p) || (p === "bench" && named) : only.has(p)
);
const everything = DEFAULT_PASSES.every((p) => selected.includes(p)) && paths.length === 0;

// ---- results -------------------------------------------------------------------

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Result {
  name: string;
  ok: boolean;
  time: string;
  /** "Faktory 1.10.0 on bun", for passes. */
  server?: string;
  counts?: Counts;
  note?: string;
}

const results: Result[] = [];

/**
 * Leaf test cases of a JUnit report, written by all three runners. Deno also
 * lists each `describe` as a test case whose steps are named "describe > test":
 * those with steps are not counted.
 */
async function junitCounts(path: string): Promise<Counts | undefined> {
  const xml = await Deno.readTextFile(path).catch(() => undefined);
  if (xml === undefined) return undefined;
  const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)]
    .map((m) => ({ name: m[1]!, body: m[2] ?? "" }));
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const c of cases) {
    if (cases.some((other) => other.name.startsWith(`${c.name} &gt; `))) continue; // has steps
    if (c.body.includes("<failure")) counts.failed++;
    else if (c.body.includes("<skipped")) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

// ---- running things ------------------------------------------------------------

const running = new Set<number>();

function killGroup(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pid, signal);
    return true;
  } catch {
    return false; // no process left in the group
  }
}

Deno.addSignalListener("SIGINT", () => {
  for (const pid of running) killGroup(pid, "SIGTERM");
  Deno.exit(130);
});

/**
 * Runs a command in its own process group (so a timeout or Ctrl-C stops
 * every server it started) with stdout and stderr appended to `log`; returns the exit
 * code. Processes left in the group afterwards (a server a test did not
 * stop) are stopped and named in the log.
 */
async function runLogged(
  log: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; timedOut: boolean }> {
  await Deno.writeTextFile(log, `$ ${[cmd.replace(`${bin}/`, ""), ...args].join(" ")}\n`, {
    append: true,
  });
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec "$@" >>"$LOG" 2>&1', "bash", cmd, ...args],
    env: { PATH: toolPath, NO_COLOR: "1", LOG: log, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  running.add(child.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, "SIGTERM");
    setTimeout(() => killGroup(child.pid, "SIGKILL"), 10_000);
  }, timeoutMinutes * 60_000);
  const { code } = await child.status;
  clearTimeout(timer);
  running.delete(child.pid);
  const left = killGroup(child.pid, "SIGTERM");
  const note = timedOut
    ? `\n!!! still running after ${timeoutMinutes} min: stopped\n`
    : left
    ? "\n!!! left processes running (servers not stopped?): sent them SIGTERM\n"
    : "";
  if (note) await Deno.writeTextFile(log, note, { append: true });
  return { code: timedOut && code === 0 ? 124 : code, timedOut };
}

/** Runs a step in the foreground, output streamed. */
async function step(name: string, fn: () => Promise<number | string | undefined>) {
  out(`\n=== ${name} ${"=".repeat(Math.max(3, 72 - name.length))}`);
  const started = performance.now();
  const r = await fn();
  const ok = r === 0 || r === undefined;
  const note = typeof r === "string" ? r : r ? `exit code ${r}` : undefined;
  results.push({ name, ok, time: seconds(started), ...(note ? { note } : {}) });
  if (!ok) err(`!!! ${name} failed${note ? `: ${note}` : ""}`);
  return ok;
}

/** A job that runs in the background with its output in build/reports/<name>.log. */
interface Job {
  name: string;
  run(log: string): Promise<Result>;
}

/** Runs the jobs, `atOnce` at a time; prints each one's result (and its log if it failed). */
async function runJobs(jobs: Job[], atOnce: number): Promise<void> {
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const log = `${reports}/${job.name}.log`;
      await Deno.writeTextFile(log, "");
      out(`--- ${job.name}: started (log: build/reports/${job.name}.log)`);
      const result = await job.run(log);
      results.push(result);
      out(`--- ${job.name}: ${line(result)}`);
      if (!result.ok) {
        out(`--- ${job.name} failed; its log:`);
        outBytes(await Deno.readFile(log).catch(() => new Uint8Array()));
        out(`--- end of ${job.name}'s log`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, jobs.length) }, worker));
}

/** A packaging check (a deno task) as a background job. */
function taskJob(task: string, args: string[] = []): Job {
  return {
    name: task,
    async run(log) {
      const started = performance.now();
      const { code } = await runLogged(log, `${bin}/deno`, ["task", task, ...args]);
      return {
        name: task,
        ok: code === 0,
        time: seconds(started),
        ...(code === 0 ? {} : { note: `exit code ${code}` }),
      };
    },
  };
}

// ---- passes --------------------------------------------------------------------

/**
 * The server of the default passes and the version they must see: the build
 * of scripts/faktory, or `FAKTORY_BIN` and what it says it is.
 */
async function defaultServer(): Promise<FaktoryPin> {
  const binary = Deno.env.get("FAKTORY_BIN");
  return binary ? { binary, version: await faktoryVersion(binary) } : await faktoryPin("faktory");
}

/** The compatibility builds: one pass per scripts/faktory-X.Y.Z. */
async function compatServers(): Promise<FaktoryPin[]> {
  const dirs: string[] = [];
  for await (const entry of Deno.readDir(`${root}/scripts`)) {
    if (entry.isDirectory && entry.name.startsWith("faktory-")) dirs.push(entry.name);
  }
  return await Promise.all(dirs.sort().map(faktoryPin));
}

/** Compiles tests/ for Node and points build/node/{mod.js,src} at npm/esm/. */
async function prepareNode(log: string): Promise<string | undefined> {
  const outDir = `${root}/build/node`;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  if (!(await exists(`${root}/npm/esm`))) return "npm/esm is missing (run deno task build:npm)";
  // tsc type-checks the tests against the sources and emits the tests plus
  // the library files they import (mod.js, src/**). Those library files are
  // then replaced by symlinks to the npm build, so the tests exercise it.
  const { code } = await runLogged(log, `${bin}/tsc`, ["-p", "tsconfig.tests.json"]);
  if (code !== 0) return `tsc -p tsconfig.tests.json exited with code ${code}`;
  for await (const entry of Deno.readDir(`${root}/npm/esm`)) {
    await Deno.remove(`${outDir}/${entry.name}`, { recursive: true }).catch(() => {});
    await Deno.symlink(`../../npm/esm/${entry.name}`, `${outDir}/${entry.name}`);
  }
  await Deno.writeTextFile(`${outDir}/package.json`, '{ "type": "module" }\n');
  // Non-TypeScript files next to the tests (fixtures) are copied as they are.
  const copy = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(`${root}/${dir}`)) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory) await copy(rel);
      else if (entry.isFile && !entry.name.endsWith(".ts")) {
        await Deno.mkdir(`${outDir}/${dir}`, { recursive: true });
        await Deno.copyFile(`${root}/${rel}`, `${outDir}/${rel}`);
      }
    }
  };
  await copy("tests");
  return undefined;
}

/** The command that runs `files` on `runtime`, writing a JUnit report to `junit`. */
function testCommand(
  runtime: Runtime,
  files: string[],
  junit: string,
  atOnce: number,
): [string, string[]] {
  const n = String(atOnce);
  switch (runtime) {
    case "deno": {
      const check = results.some((r) => r.name === "check" && r.ok) ? ["--no-check"] : [];
      return [`${bin}/deno`, [
        "test",
        "-A",
        "--parallel",
        ...check,
        `--junit-path=${junit}`,
        ...files,
      ]];
    }
    case "bun":
      return [`${bin}/bun`, [
        "test",
        `--parallel=${n}`,
        // Bun's default per-test (and hook) timeout is 5 s; the others have
        // none. Beside other passes, the longest tests take over a minute.
        "--timeout=180000",
        "--reporter=junit",
        `--reporter-outfile=${junit}`,
        ...files.map((f) => `./${f}`),
      ]];
    case "node":
      return ["node", [
        "--test",
        `--test-concurrency=${n}`,
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=junit",
        `--test-reporter-destination=${junit}`,
        ...files.map((f) => `build/node/${f.replace(/\.ts$/, ".js")}`),
      ]];
  }
}

function passJob(name: string, runtime: Runtime, server: FaktoryPin, files: string[]): Job {
  const label = `Faktory ${server.version} on ${runtime}`;
  return {
    name,
    async run(log) {
      const started = performance.now();
      const result = (fields: Partial<Result>): Result => ({
        name,
        ok: false,
        time: seconds(started),
        server: label,
        ...fields,
      });
      if (!(await exists(server.binary))) {
        return result({ note: `${server.binary} is missing: run scripts/install_deps.sh` });
      }
      if (runtime === "node") {
        const problem = await prepareNode(log);
        if (problem) return result({ note: problem });
      }
      // Node and Deno: the files of password handshakes after the rest, one at a
      // time; Deno also the files that count the process's descriptors.
      const alone = files.filter((f) =>
        (runtime !== "bun" && ONE_AT_A_TIME.has(f)) || (runtime === "deno" && PROCESS_WIDE.has(f))
      );
      const groups: [string[], number][] = [
        [files.filter((f) => !alone.includes(f)), filesAtOnce],
        [alone, 1],
      ];
      let code = 0;
      let timedOut = false;
      let counts: Counts | undefined = { passed: 0, failed: 0, skipped: 0 };
      for (const [i, [group, atOnce]] of groups.entries()) {
        if (group.length === 0) continue;
        const junit = `${reports}/${name}${i === 0 ? "" : "-one-at-a-time"}.xml`;
        await Deno.remove(junit).catch(() => {});
        const [cmd, args] = testCommand(runtime, group, junit, atOnce);
        const run = await runLogged(log, cmd, args, {
          FAKTORY_BIN: server.binary,
          FAKTORY_EXPECT_VERSION: server.version,
          DENO_JOBS: String(atOnce),
        });
        code ||= run.code;
        timedOut ||= run.timedOut;
        const c = await junitCounts(junit);
        counts = c && counts && {
          passed: counts.passed + c.passed,
          failed: counts.failed + c.failed,
          skipped: counts.skipped + c.skipped,
        };
      }
      let note: string | undefined;
      if (!counts) {
        note = "no JUnit report";
        counts = { passed: 0, failed: 1, skipped: 0 };
      } else if (counts.passed + counts.failed === 0) {
        note = "ran no test";
        counts.failed = 1;
      } else if (code !== 0 && counts.failed === 0) {
        note = "no test failed, but the runner failed";
        counts.failed = 1;
      }
      if (timedOut) {
        note = [note, `timed out after ${timeoutMinutes} min`].filter(Boolean).join("; ");
      } else if (code !== 0) note = [note, `exit code ${code}`].filter(Boolean).join("; ");
      return result({ ok: code === 0 && counts.failed === 0, counts, ...(note ? { note } : {}) });
    },
  };
}

/**
 * The test files, longest first by the last run's JUnit reports (Deno's and
 * Bun's name the files), so that no long file starts last and holds up the
 * end of a pass.
 */
async function testFiles(): Promise<string[]> {
  if (paths.length > 0) return [...new Set(paths.map((p) => p.replace(/^\.\//, "")))];
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${root}/tests`)) {
    if (entry.isFile && entry.name.endsWith("_test.ts")) files.push(`tests/${entry.name}`);
  }
  const seconds = new Map<string, number>();
  for (const report of ["deno", "bun"]) {
    const xml = await Deno.readTextFile(`${reports}/${report}.xml`).catch(() => "");
    // Bun: a test suite per file; Deno: a file's top-level tests.
    const suites = xml.matchAll(/<testsuite name="(tests\/[^"]+)"[^>]*? time="([\d.]+)"/g);
    const tests = xml.matchAll(/<testcase [^>]*classname="\.\/(tests\/[^"]+)" time="([\d.]+)"/g);
    const sum = new Map<string, number>();
    for (const [, file, time] of [...suites, ...tests]) {
      sum.set(file!, (sum.get(file!) ?? 0) + Number(time));
    }
    for (const [file, time] of sum) seconds.set(file, Math.max(seconds.get(file) ?? 0, time));
  }
  return files.sort((a, b) => (seconds.get(b) ?? 0) - (seconds.get(a) ?? 0) || a.localeCompare(b));
}

// ---- main ----------------------------------------------------------------------

function line(r: Result): string {
  const c = r.counts;
  const counts = c ? `${c.passed} passed  ${c.failed} failed  ${c.skipped} skipped  ` : "";
  return `${r.name.padEnd(10)} ${(r.ok ? "ok" : "FAILED").padEnd(7)} ${
    r.server ? `${r.server.padEnd(24)} ` : ""
  }${counts}${r.time}${r.note ? `  (${r.note})` : ""}`;
}

const started = performance.now();
const loadBefore = await loadAverage();
await Deno.mkdir(reports, { recursive: true });

if (!opts["skip-check"]) await step("check", () => run(`${bin}/deno`, ["task", "check"]));
if (!opts["skip-deps"]) await step("deps", () => run("bash", ["scripts/install_deps.sh"]));
let built = true;
if (selected.includes("node") && !opts["skip-build"]) {
  built = await step("build:npm", () => run(`${bin}/deno`, ["task", "build:npm"]));
}

const files = await testFiles();
/** Passes that run only the files kept for them. */
const OWN_FILES_ONLY: readonly PassName[] = ["workerd", "bench"];
/** A pass's files: those of the whole suite not kept for another pass, or those kept for it. */
const forPass = (name: PassName) =>
  files.filter((f) =>
    ONE_PASS[f] === name || (ONE_PASS[f] === undefined && !OWN_FILES_ONLY.includes(name))
  );
const jobs: Job[] = [];
for (const name of selected) {
  if (forPass(name).length === 0) continue;
  if (name === "compat") {
    for (const server of await compatServers()) {
      jobs.push(passJob(`compat-${server.version}`, COMPAT_RUNTIME, server, forPass("compat")));
    }
  } else if (name === "node" && !built) {
    results.push({ name, ok: false, time: "0.0s", note: "not run: build:npm failed" });
  } else {
    const runtime = name === "bench" || name === "workerd" ? "deno" : name;
    const job = passJob(name, runtime, await defaultServer(), forPass(name));
    jobs.push(job);
  }
}
// The packaging checks run with the whole suite only, before the bench smoke test
// if it was asked for; check:pack packs the npm/ built above: building it again would pull npm/esm
// from under Node's pass, which runs its tests through symlinks into it.
if (everything && !opts["skip-check"]) {
  const bench = jobs.findIndex((j) => j.name === "bench");
  jobs.splice(
    bench < 0 ? jobs.length : bench,
    0,
    taskJob("check:jsr"),
    taskJob("check:pack", built ? ["--skip-build"] : []),
  );
}
out(`\n=== ${jobs.length} jobs, ${jobsAtOnce} at once, ${filesAtOnce} test files at once each ===`);
await runJobs(jobs, jobsAtOnce);

const loadAfter = await loadAverage();
out(
  `\n=== summary (${seconds(started)}; load average ${loadBefore} before, ${loadAfter} after) ===`,
);
for (const r of results) out(line(r));
const versions = new Map<string, Counts & { passes: number }>();
for (const r of results) {
  if (!r.server || !r.counts) continue;
  const version = r.server.replace(/ on .*/, "");
  const v = versions.get(version) ?? { passed: 0, failed: 0, skipped: 0, passes: 0 };
  v.passed += r.counts.passed;
  v.failed += r.counts.failed;
  v.skipped += r.counts.skipped;
  v.passes++;
  versions.set(version, v);
}
for (const [version, v] of versions) {
  out(
    `${version}: ${v.passed} passed, ${v.failed} failed, ${v.skipped} skipped in ${v.passes} pass(es)`,
  );
}
let passed = 0;
let failed = 0;
for (const r of results) {
  if (r.counts) {
    passed += r.counts.passed;
    failed += r.counts.failed;
  } else if (!r.ok) failed += 1;
}
out(`${passed} passed, ${failed} failed`);
Deno.exit(results.every((r) => r.ok) && failed === 0 ? 0 : 1);

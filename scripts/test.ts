/**
 * Runs the whole test pipeline (`deno task test`):
 *
 *   check -> install_deps.sh -> build:npm -> tests on Deno, Bun and Node -> check:jsr
 *   -> check:pack -> soak
 *
 * one after the other (the machine has 2 cores), streaming their output, then
 * prints one line per step and runtime and, last, `N passed, K failed` alone
 * on a line (CI reads it). Exits non-zero if any step or runtime failed or a
 * runtime ran no test. Failed steps (check, deps, build) count as failures.
 *
 * Usage: deno task test [-- options] [test files or directories...]
 *   --only deno|bun|node|workerd  only these passes (repeatable, or a comma list)
 *   --skip-check           skip `deno task check`
 *   --skip-deps            skip `bash scripts/install_deps.sh`
 *   --skip-build           skip `deno task build:npm` (Node then runs the existing npm/)
 *   --skip-soak            skip the soak step (`scripts/soak.ts --jobs 20000` on Deno,
 *                          ~3 min, run after the tests when no file or dir is given)
 *   --timeout-minutes N    kill a runtime's whole process group after N minutes
 *                          (default: $TEST_TIMEOUT_MINUTES or 30)
 *   files / dirs           default tests/; dirs are searched for *_test.ts
 *
 * How each runtime runs the suite (tests/**\/*_test.ts, node:test + node:assert):
 * - Deno: `deno test -A <files>`; counts from its JUnit report (leaf tests,
 *   i.e. `it`s rather than their `describe`).
 * - Bun: `bun test --timeout 60000 ./<files>`. The `./` matters: without it
 *   Bun treats arguments as substring filters and also picks up build/node.
 * - Node: tsc -p tsconfig.tests.json compiles tests/ to build/node/tests/*.js;
 *   build/node/mod.js and build/node/src are symlinks into npm/esm/, so the
 *   compiled tests' `../mod.js` / `../src/x.js` imports load the npm build
 *   itself (Node resolves symlinks to real paths: one module instance).
 *   Node 20's --test does not take globs, so files are passed one by one.
 * - workerd: the files ONE_PASS gives it (tests/cloudflare_test.ts), run as
 *   on Deno; they start workerd themselves, so their count shows apart.
 *
 * @module
 */

const RUNTIMES = ["deno", "bun", "node", "workerd"] as const;
type RuntimeName = typeof RUNTIMES[number];

const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const bin = `${root}/node_modules/.bin`;
const reports = `${root}/build/reports`;
Deno.chdir(root);

// deno.json's lib has no `console`; write to the streams directly.
const encoder = new TextEncoder();
function writeAll(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}
const out = (msg = "") => writeAll(Deno.stdout, encoder.encode(`${msg}\n`));
const err = (msg: string) => writeAll(Deno.stderr, encoder.encode(`${msg}\n`));

function usage(code: number): never {
  out("usage: deno task test [--only deno|bun|node|workerd]... [--skip-check] [--skip-deps]");
  out("                      [--skip-build] [--skip-soak] [--timeout-minutes N]");
  out("                      [files or dirs...]");
  Deno.exit(code);
}

// ---- arguments -----------------------------------------------------------------

const only = new Set<RuntimeName>();
const paths: string[] = [];
let skipCheck = false;
let skipDeps = false;
let skipBuild = false;
let skipSoak = false;
let timeoutMinutes = Number(Deno.env.get("TEST_TIMEOUT_MINUTES") ?? 30);
{
  const args = [...Deno.args];
  while (args.length > 0) {
    const arg = args.shift()!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? args.shift() ?? usage(2);
    if (flag === "--") continue;
    else if (flag === "--only") {
      for (const name of value().split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!(RUNTIMES as readonly string[]).includes(name)) {
          err(`unknown runtime "${name}" (expected ${RUNTIMES.join(", ")})`);
          usage(2);
        }
        only.add(name as RuntimeName);
      }
    } else if (flag === "--skip-check") skipCheck = true;
    else if (flag === "--skip-deps") skipDeps = true;
    else if (flag === "--skip-build") skipBuild = true;
    else if (flag === "--skip-soak") skipSoak = true;
    else if (flag === "--timeout-minutes") timeoutMinutes = Number(value());
    else if (flag === "-h" || flag === "--help") usage(0);
    else if (flag.startsWith("-")) {
      err(`unknown option ${arg}`);
      usage(2);
    } else paths.push(arg);
  }
  if (!(timeoutMinutes > 0)) {
    err("--timeout-minutes must be a positive number");
    usage(2);
  }
}
const selected = RUNTIMES.filter((r) => only.size === 0 || only.has(r));

// ---- helpers -------------------------------------------------------------------

const interactive = Deno.stdout.isTerminal() && Deno.env.get("CI") !== "true";
const childEnv: Record<string, string> = {
  PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`,
  ...(interactive ? { FORCE_COLOR: "1" } : { NO_COLOR: "1" }),
};

function header(title: string): void {
  out(`\n=== ${title} ${"=".repeat(Math.max(3, 72 - title.length))}`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs a command with inherited stdio; resolves with its exit code. */
async function run(cmd: string, args: string[]): Promise<number> {
  out(`$ ${[cmd, ...args].join(" ")}`);
  try {
    const child = new Deno.Command(cmd, { args, env: childEnv }).spawn();
    return (await child.status).code;
  } catch (e) {
    err(`cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
    return 127;
  }
}

let current: Deno.ChildProcess | undefined;

function killGroup(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pid, signal);
    return true;
  } catch {
    return false; // no process left in the group
  }
}

Deno.addSignalListener("SIGINT", () => {
  if (current) killGroup(current.pid, "SIGTERM");
  Deno.exit(130);
});

/**
 * Runs a test runtime in its own process group (so a timeout or Ctrl-C stops
 * every server it started), streams stdout+stderr in order, and returns the
 * exit code and the output with ANSI codes stripped.
 */
async function runCaptured(
  label: string,
  cmd: string,
  args: string[],
): Promise<{ code: number; text: string; timedOut: boolean }> {
  out(`$ ${[cmd, ...args].join(" ")}`);
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec "$@" 2>&1', "bash", cmd, ...args],
    env: childEnv,
    stdin: "null",
    stdout: "piped",
    detached: true,
  }).spawn();
  current = child;
  let timedOut = false;
  let hardKill: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    err(`\n!!! ${label} still running after ${timeoutMinutes} min; killing its process group`);
    killGroup(child.pid, "SIGTERM");
    hardKill = setTimeout(() => killGroup(child.pid, "SIGKILL"), 10_000);
  }, timeoutMinutes * 60_000);
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const pumped = (async () => {
    for await (const chunk of child.stdout) {
      writeAll(Deno.stdout, chunk);
      chunks.push(decoder.decode(chunk, { stream: true }));
    }
  })();
  const { code } = await child.status;
  clearTimeout(timer);
  clearTimeout(hardKill);
  current = undefined;
  // Whatever is left in the group (e.g. a server a test did not stop) would
  // also keep the output pipe open: stop it.
  if (killGroup(child.pid, "SIGTERM") && !timedOut) {
    err(`!!! ${label} left processes running (servers not stopped?); sent them SIGTERM`);
  }
  const hard = setTimeout(() => killGroup(child.pid, "SIGKILL"), 5_000);
  await pumped;
  clearTimeout(hard);
  // deno-lint-ignore no-control-regex
  const text = chunks.join("").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  return { code: timedOut && code === 0 ? 124 : code, text, timedOut };
}

// ---- test files ----------------------------------------------------------------

const isTestFile = (name: string) => /(_|\.)test\.ts$/.test(name);

async function collect(dir: string, into: string[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "node_modules") await collect(path, into);
    else if (entry.isFile && isTestFile(entry.name)) into.push(path);
  }
}

async function testFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const raw of paths.length > 0 ? paths : ["tests"]) {
    const path = raw.replace(/^\.\//, "").replace(/\/+$/, "");
    const info = await Deno.stat(path).catch(() => undefined);
    if (!info) throw new Error(`no such test file or directory: ${raw}`);
    if (info.isDirectory) await collect(path, files);
    else files.push(path);
  }
  for (const file of files) {
    if (!file.startsWith("tests/") || !file.endsWith(".ts")) {
      throw new Error(`test files must be .ts files under tests/: ${file}`);
    }
  }
  return [...new Set(files)].sort();
}

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
  counts?: Counts;
  note?: string;
}

const results: Result[] = [];

function lastNumber(text: string, re: RegExp): number | undefined {
  const all = [...text.matchAll(re)];
  const m = all[all.length - 1];
  return m ? Number(m[1]) : undefined;
}

/** Deno: leaf test cases of the JUnit report (a `describe` is a test with steps). */
async function denoCounts(junitPath: string, text: string): Promise<Counts | undefined> {
  const xml = await Deno.readTextFile(junitPath).catch(() => undefined);
  if (xml !== undefined) {
    const cases = [
      ...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g),
    ].map((m) => ({ name: m[1]!, body: m[2] ?? "" }));
    const names = cases.map((c) => c.name);
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (const c of cases) {
      if (names.some((n) => n.startsWith(`${c.name} &gt; `))) continue; // has steps
      if (c.body.includes("<failure")) counts.failed++;
      else if (c.body.includes("<skipped")) counts.skipped++;
      else counts.passed++;
    }
    return counts;
  }
  // Fallback: "ok | 3 passed (2 steps) | 0 failed | 1 ignored" (top-level tests only).
  const m = [
    ...text.matchAll(/(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed(?:.*?\| (\d+) ignored)?/g),
  ]
    .pop();
  return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : undefined;
}

/** Bun: the summary block " 12 pass / 0 fail / 1 skip / 2 todo". */
function bunCounts(text: string): Counts | undefined {
  const passed = lastNumber(text, /^\s*(\d+) pass$/gm);
  const failed = lastNumber(text, /^\s*(\d+) fail$/gm);
  if (passed === undefined && failed === undefined) return undefined;
  const skipped = (lastNumber(text, /^\s*(\d+) skip$/gm) ?? 0) +
    (lastNumber(text, /^\s*(\d+) todo$/gm) ?? 0);
  return { passed: passed ?? 0, failed: failed ?? 0, skipped };
}

/** Node: the TAP report's closing "# pass N" / "# fail N" / "# cancelled N" lines. */
async function nodeCounts(tapPath: string): Promise<Counts | undefined> {
  const tap = await Deno.readTextFile(tapPath).catch(() => undefined);
  if (tap === undefined) return undefined;
  const n = (key: string) => lastNumber(tap, new RegExp(`^# ${key} (\\d+)$`, "gm"));
  if (n("pass") === undefined) return undefined;
  return {
    passed: n("pass") ?? 0,
    failed: (n("fail") ?? 0) + (n("cancelled") ?? 0),
    skipped: (n("skipped") ?? 0) + (n("todo") ?? 0),
  };
}

// ---- steps ---------------------------------------------------------------------

async function step(name: string, fn: () => Promise<number | string | undefined>) {
  header(name);
  const started = performance.now();
  const r = await fn();
  const ok = r === 0 || r === undefined;
  const note = typeof r === "string" ? r : r ? `exit code ${r}` : undefined;
  results.push({ name, ok, time: seconds(started), ...(note ? { note } : {}) });
  if (!ok) err(`!!! ${name} failed${note ? `: ${note}` : ""}`);
  return ok;
}

/** Compiles tests/ for Node and points build/node/{mod.js,src} at npm/esm/. */
async function prepareNode(): Promise<string | undefined> {
  const outDir = `${root}/build/node`;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  if (!(await exists(`${root}/npm/esm`))) return "npm/esm is missing (run deno task build:npm)";
  // tsc type-checks the tests against the sources and emits the tests plus
  // the library files they import (mod.js, src/**). Those library files are
  // then replaced by symlinks to the npm build, so the tests exercise it.
  const code = await run(`${bin}/tsc`, ["-p", "tsconfig.tests.json"]);
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

async function runRuntime(name: RuntimeName, files: string[]): Promise<void> {
  header(`${name}: ${files.length} test file${files.length === 1 ? "" : "s"}`);
  const started = performance.now();
  await Deno.mkdir(reports, { recursive: true });
  let code: number;
  let counts: Counts | undefined;
  let note: string | undefined;
  let timedOut = false;
  if (name === "deno" || name === "workerd") {
    const junit = `${reports}/${name}.xml`;
    await Deno.remove(junit).catch(() => {});
    const args = ["test", "-A", `--junit-path=${junit}`, ...files];
    const r = await runCaptured(name, `${bin}/deno`, args);
    ({ code, timedOut } = r);
    counts = await denoCounts(junit, r.text);
  } else if (name === "bun") {
    // Bun's default per-test (and hook) timeout is 5 s; the others have none.
    const args = ["test", "--timeout", "60000", ...files.map((f) => `./${f}`)];
    const r = await runCaptured(name, `${bin}/bun`, args);
    ({ code, timedOut } = r);
    counts = bunCounts(r.text);
  } else {
    const problem = await prepareNode();
    if (problem) {
      results.push({ name, ok: false, time: seconds(started), note: problem });
      err(`!!! node: ${problem}`);
      return;
    }
    const tap = `${reports}/node.tap`;
    await Deno.remove(tap).catch(() => {});
    const args = [
      "--test",
      "--test-concurrency=1",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tap}`,
      ...files.map((f) => `build/node/${f.replace(/\.ts$/, ".js")}`),
    ];
    const r = await runCaptured(name, "node", args);
    ({ code, timedOut } = r);
    counts = await nodeCounts(tap);
  }
  if (!counts) {
    note = "could not read the test counts";
    counts = { passed: 0, failed: 1, skipped: 0 };
  } else if (counts.passed + counts.failed === 0) {
    note = "ran no test";
    counts.failed = 1;
  } else if (code !== 0 && counts.failed === 0) {
    note = "no test failed, but the runner failed";
    counts.failed = 1;
  }
  if (timedOut) note = [note, `timed out after ${timeoutMinutes} min`].filter(Boolean).join("; ");
  else if (code !== 0) note = [note, `exit code ${code}`].filter(Boolean).join("; ");
  const ok = code === 0 && counts.failed === 0;
  results.push({ name, ok, time: seconds(started), counts, ...(note ? { note } : {}) });
}

// ---- main ----------------------------------------------------------------------

const started = performance.now();
let files: string[] = [];
try {
  files = await testFiles();
  if (files.length === 0) throw new Error(`no *_test.ts files in ${paths.join(" ") || "tests/"}`);
} catch (e) {
  err(`error: ${e instanceof Error ? e.message : e}`);
  Deno.exit(2);
}

if (!skipCheck) await step("check", () => run(`${bin}/deno`, ["task", "check"]));
if (!skipDeps) {
  await step("deps", async () => {
    if (!(await exists(`${root}/scripts/install_deps.sh`))) {
      err("warning: scripts/install_deps.sh does not exist yet; skipped");
      return undefined;
    }
    return await run("bash", ["scripts/install_deps.sh"]);
  });
}
let built = true;
if (selected.includes("node") && !skipBuild) {
  built = await step("build:npm", () => run(`${bin}/deno`, ["task", "build:npm"]));
}

/**
 * Test files that run in one pass only, so that no runtime reports them as
 * skipped: the bench smoke test starts every runtime itself, the export
 * check needs the npm/ just built, which only the Node pass is sure to follow,
 * and the Cloudflare tests run in workerd, whatever drives them.
 */
const ONE_PASS: Record<string, RuntimeName> = {
  "tests/bench_test.ts": "deno",
  "tests/exports_test.ts": "node",
  "tests/cloudflare_test.ts": "workerd",
};

for (const name of selected) {
  if (name === "node" && !built) {
    results.push({ name, ok: false, time: "0.0s", note: "not run: build:npm failed" });
    continue;
  }
  // The workerd pass runs only the files given to it.
  const mine = files.filter((f) => (ONE_PASS[f] ?? (name === "workerd" ? "" : name)) === name);
  if (mine.length === 0) {
    results.push({ name, ok: true, time: "0.0s", note: "no test file for this runtime" });
    continue;
  }
  await runRuntime(name, mine);
}

// The publishing checks and the soak (reconnects, cuts and restarts under
// load) run with the full suite only.
if (selected.length === RUNTIMES.length && paths.length === 0 && !skipCheck) {
  await step("check:jsr", () => run(`${bin}/deno`, ["task", "check:jsr"]));
  await step("check:pack", () => run(`${bin}/deno`, ["task", "check:pack"]));
}
if (selected.includes("deno") && paths.length === 0 && !skipSoak) {
  await step("soak", async () => {
    const args = ["run", "-A", "scripts/soak.ts", "--jobs", "20000"];
    return (await runCaptured("soak", `${bin}/deno`, args)).code;
  });
}

header(`summary (${seconds(started)})`);
let passed = 0;
let failed = 0;
for (const r of results) {
  const c = r.counts;
  const countText = c ? `${c.passed} passed  ${c.failed} failed  ${c.skipped} skipped  ` : "";
  out(
    `${r.name.padEnd(10)} ${(r.ok ? "ok" : "FAILED").padEnd(7)} ${countText}${r.time}` +
      (r.note ? `  (${r.note})` : ""),
  );
  if (c) {
    passed += c.passed;
    failed += c.failed;
  } else if (!r.ok) failed += 1;
}
out(`${passed} passed, ${failed} failed`);
Deno.exit(results.every((r) => r.ok) ? 0 : 1);

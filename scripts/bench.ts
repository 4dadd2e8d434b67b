/**
 * Benchmarks (`deno task bench`): this library on Deno, Bun and Node (the npm
 * build) against the Go reference client and npm `faktory-worker` on Node,
 * all on one dedicated Faktory server, in one run.
 *
 *   push     sequential PUSH; 50 callers pushing through a pool; PUSHB of 100
 *            and of 1000 jobs (jobs/s)
 *   drain    jobs preloaded with PUSHB, then worked off to empty at concurrency
 *            1, 10 and 50 by a worker (jobs/s); FLUSH before each run
 *   mixed    the workload of Faktory's own load tester
 *            (github.com/contribsys/faktory/test/load `30000 10`: 10 threads,
 *            half pushing, half fetching and ACKing, 5 queues, 1 % FAILed);
 *            the Go figure is that very program, the others reproduce it
 *   connect  connect + HELLO against a password-protected server
 *   rss      peak RSS, and live heap after a forced GC, of a worker draining
 *            10,000 and 100,000 jobs (a leak check)
 *
 * Every client run is its own process (scripts/bench/*.mjs, the Go programs),
 * wrapped in /usr/bin/time for its process CPU and peak RSS; the runners also
 * report the CPU of the measured phase alone (from /proc/self/stat or
 * getrusage), which is what "CPU s per 10k jobs" shows (the load tester can
 * only be measured as a whole process; its start-up is a few ms).
 *
 * Output: <out>/results.json, <out>/results.md, <out>/jobs_per_sec.svg, and the
 * Markdown on stdout. Default <out>: bench/ (full run) or build/bench/ (--quick).
 *
 * Usage: deno task bench [-- options]
 *   --quick                small sizes, no RSS check: a smoke test (~1 min)
 *   --rss-check            only the RSS check (10,000 vs 100,000 jobs)
 *   --repeat N             run each measurement N times, report the median (default 1)
 *   --clients a,b          only these clients: ours-deno, ours-bun, ours-node, go, faktory-worker
 *   --scenarios a,b        only these: push-seq, push-conc, pushb-100, pushb-1000,
 *                          drain-1, drain-10, drain-50, mixed, connect, rss
 *   --out DIR              where to write the results
 *   --from FILE            render FILE (an earlier results.json) again, measure nothing
 *   --skip-build           reuse the last compile for Node (build/bench-npm/, from
 *                          tsconfig.npm.json) and the Go binaries in .cache/bin/
 *
 * @module
 */

import { Client, type JobPayload, randomJid, silentLogger } from "../mod.ts";
import { faktoryBinary, type FaktoryServer, startFaktory } from "../tests/harness/faktory.ts";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const bin = `${root}/node_modules/.bin`;
const cacheBin = `${root}/.cache/bin`;
/** The npm build's JavaScript, compiled for the Node runs (see prepare()). */
const NODE_LIB_DIR = "build/bench-npm";
Deno.chdir(root);

const encoder = new TextEncoder();
function writeAll(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}
const out = (msg = "") => writeAll(Deno.stdout, encoder.encode(`${msg}\n`));
const err = (msg: string) => writeAll(Deno.stderr, encoder.encode(`${msg}\n`));

function usage(code: number): never {
  out("usage: deno task bench [--quick] [--rss-check] [--repeat N] [--clients a,b]");
  out("                       [--scenarios a,b] [--out DIR] [--skip-build]");
  Deno.exit(code);
}

// ---- arguments -----------------------------------------------------------------

const CLIENT_IDS = ["ours-deno", "ours-bun", "ours-node", "go", "faktory-worker"] as const;
type ClientId = typeof CLIENT_IDS[number];
const SCENARIO_IDS = [
  "push-seq",
  "push-conc",
  "pushb-100",
  "pushb-1000",
  "drain-1",
  "drain-10",
  "drain-50",
  "mixed",
  "connect",
  "rss",
] as const;
type ScenarioId = typeof SCENARIO_IDS[number];

let quick = false;
let rssOnly = false;
let repeat = 1;
let skipBuild = false;
let outDir: string | undefined;
let from: string | undefined;
const onlyClients = new Set<string>();
const onlyScenarios = new Set<string>();
{
  const args = [...Deno.args];
  while (args.length > 0) {
    const arg = args.shift()!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => (eq > 0 ? arg.slice(eq + 1) : args.shift()) ?? usage(2);
    const list = (into: Set<string>, known: readonly string[]) => {
      for (const name of value().split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!known.includes(name)) {
          err(`unknown name "${name}" (expected one of ${known.join(", ")})`);
          usage(2);
        }
        into.add(name);
      }
    };
    if (flag === "--") continue;
    else if (flag === "--quick") quick = true;
    else if (flag === "--rss-check") rssOnly = true;
    else if (flag === "--repeat") repeat = Number(value());
    else if (flag === "--skip-build") skipBuild = true;
    else if (flag === "--out") outDir = value();
    else if (flag === "--from") from = value();
    else if (flag === "--clients") list(onlyClients, CLIENT_IDS);
    else if (flag === "--scenarios") list(onlyScenarios, SCENARIO_IDS);
    else if (flag === "-h" || flag === "--help") usage(0);
    else {
      err(`unknown option ${arg}`);
      usage(2);
    }
  }
  if (!Number.isInteger(repeat) || repeat < 1) {
    err("--repeat must be a whole number, 1 or more");
    usage(2);
  }
}
/** With --from: an earlier run's results.json, rendered again instead of measuring. */
const prior = from === undefined ? undefined : JSON.parse(await Deno.readTextFile(from)) as {
  date: string;
  command: string;
  quick: boolean;
  repeat: number;
  machine: { cpus: number; model?: string; loadBefore: string; loadAfter: string };
  versions: Record<string, string>;
  clients: Record<string, string>;
  failures: { scenario: string; client: string; error: string }[];
  runs: Run[];
};
if (prior) {
  quick = prior.quick;
  repeat = prior.repeat;
  for (const id of Object.keys(prior.clients)) onlyClients.add(id);
}
outDir ??= from !== undefined
  ? from.replace(/\/?[^/]*$/, "") || "."
  : quick
  ? "build/bench"
  : "bench";

// ---- scenarios and clients -----------------------------------------------------

/** Sizes: the brief's in a full run, about a tenth in --quick. */
const SIZE = quick
  ? { push: 1_000, drain: 2_000, mixed: 3_000, connect: 2, rssSmall: 2_000, rssLarge: 10_000 }
  : {
    push: 20_000,
    drain: 20_000,
    mixed: 30_000,
    connect: 10,
    rssSmall: 10_000,
    rssLarge: 100_000,
  };

interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  readonly mode: "push-seq" | "push-conc" | "pushb" | "drain" | "mixed" | "connect";
  readonly jobs: number;
  readonly concurrency?: number;
  readonly batch?: number;
  /** Jobs pushed (PUSHB) into "default" before the client starts. */
  readonly preload?: number;
  readonly password?: boolean;
}

const SCENARIOS: Scenario[] = [
  { id: "push-seq", title: "PUSH, sequential", mode: "push-seq", jobs: SIZE.push },
  {
    id: "push-conc",
    title: "PUSH, 50 concurrent (pool)",
    mode: "push-conc",
    jobs: SIZE.push,
    concurrency: 50,
  },
  { id: "pushb-100", title: "PUSHB x 100", mode: "pushb", jobs: SIZE.push * 2, batch: 100 },
  { id: "pushb-1000", title: "PUSHB x 1000", mode: "pushb", jobs: SIZE.push * 5, batch: 1000 },
  ...[1, 10, 50].map((c): Scenario => ({
    id: `drain-${c}` as ScenarioId,
    title: `drain, concurrency ${c}`,
    mode: "drain",
    jobs: SIZE.drain,
    concurrency: c,
    preload: SIZE.drain,
  })),
  { id: "mixed", title: "mixed (load tester)", mode: "mixed", jobs: SIZE.mixed, concurrency: 10 },
  {
    id: "connect",
    title: "connect + HELLO, password",
    mode: "connect",
    jobs: 0,
    concurrency: SIZE.connect,
    password: true,
  },
];

interface ClientDef {
  readonly id: ClientId;
  readonly label: string;
  readonly color: string;
  /** The command for a scenario, or undefined if this client does not run it. */
  command(s: Scenario): string[] | undefined;
  /** The same with V8's young generation capped (RSS check only; V8 runtimes only). */
  capped?(s: Scenario): string[];
}

/**
 * V8 grows its young generation with the volume allocated (up to 16 MiB per
 * semi-space on Node, 32 MiB on Deno), so peak RSS rises over a long run
 * though the live heap stays flat. The RSS check runs once more with this
 * cap, the flag an operator would set, to show what it takes.
 */
const SEMI_SPACE_CAP = "--max-semi-space-size=4";

const ours = (runtime: string[], lib?: string) => (s: Scenario): string[] => {
  const options: Record<string, unknown> = { jobs: s.jobs };
  if (s.mode === "push-conc" || s.mode === "drain") options.concurrency = s.concurrency;
  if (s.mode === "pushb") options.batch = s.batch;
  if (s.mode === "mixed") options.threads = s.concurrency;
  if (s.mode === "connect") options.count = s.concurrency;
  if (lib) options.lib = lib;
  return [...runtime, s.mode, JSON.stringify(options)];
};

const CLIENTS: ClientDef[] = [
  {
    id: "ours-deno",
    label: "faktory-ts, Deno",
    color: "#2a7ab0",
    command: ours([`${bin}/deno`, "run", "-A", "--v8-flags=--expose-gc", "scripts/bench/ours.mjs"]),
    capped: ours([
      `${bin}/deno`,
      "run",
      "-A",
      `--v8-flags=--expose-gc,${SEMI_SPACE_CAP}`,
      "scripts/bench/ours.mjs",
    ]),
  },
  {
    id: "ours-bun",
    label: "faktory-ts, Bun",
    color: "#e0a030",
    command: ours([`${bin}/bun`, "scripts/bench/ours.mjs"]),
  },
  {
    id: "ours-node",
    label: "faktory-ts, Node (npm build)",
    color: "#3c9a50",
    command: ours(
      ["node", "--expose-gc", "scripts/bench/ours.mjs"],
      `../../${NODE_LIB_DIR}/esm/mod.js`,
    ),
    capped: ours(
      ["node", "--expose-gc", SEMI_SPACE_CAP, "scripts/bench/ours.mjs"],
      `../../${NODE_LIB_DIR}/esm/mod.js`,
    ),
  },
  {
    id: "go",
    label: "Go reference client",
    color: "#555555",
    command(s) {
      const go = `${cacheBin}/faktory-bench-go`;
      switch (s.mode) {
        case "push-seq":
          return [go, "push-seq", String(s.jobs)];
        case "push-conc":
        case "drain":
          return [go, s.mode, String(s.jobs), String(s.concurrency)];
        case "pushb":
          return [go, "pushb", String(s.jobs), String(s.batch)];
        case "mixed": // the load tester itself
          return [`${cacheBin}/faktory-load`, String(s.jobs), String(s.concurrency)];
        case "connect":
          return [go, "connect", String(s.concurrency)];
      }
    },
  },
  {
    id: "faktory-worker",
    label: "faktory-worker (npm), Node",
    color: "#b04a4a",
    command: ours(["node", "scripts/bench/faktory_worker.mjs"]),
  },
];

let clients = CLIENTS.filter((c) => onlyClients.size === 0 || onlyClients.has(c.id));
const wanted = (id: ScenarioId) =>
  onlyScenarios.size > 0 ? onlyScenarios.has(id) : rssOnly ? id === "rss" : id !== "rss" || !quick;
const scenarios = SCENARIOS.filter((s) => wanted(s.id));
const ourRuntimes = clients.filter((c) => c.id.startsWith("ours-"));

// ---- running things ------------------------------------------------------------

interface Measured {
  jobs: number;
  seconds: number;
  /** CPU seconds of the measured phase (runner's own figure), if it has one. */
  cpu?: number;
  /** Whole process: CPU seconds, wall seconds, peak RSS (KiB), from /usr/bin/time. */
  cpuProcess?: number;
  wallProcess?: number;
  peakRssKb?: number;
  ms?: number[];
  [key: string]: unknown;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function capture(cmd: string, args: string[], cwd = root): Promise<string> {
  const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output()
    .catch((e) => ({ success: false, stdout: new Uint8Array(), stderr: encoder.encode(`${e}`) }));
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text.trim();
}

async function step(cmd: string, args: string[], cwd = root): Promise<void> {
  out(`$ ${[cmd, ...args].join(" ")}`);
  const { code } = await new Deno.Command(cmd, { args, cwd }).spawn().status;
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with code ${code}`);
}

const goBin = await exists("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
const TIME = "/usr/bin/time";

/** /usr/bin/time (GNU time) gives each client process's CPU and peak RSS. */
async function ensureTime(): Promise<void> {
  if (await exists(TIME)) return;
  out("bench: /usr/bin/time is missing; installing the Debian package `time` with apt-get");
  const sudo = Deno.uid() === 0 ? [] : ["sudo", "-n"];
  const [cmd, ...rest] = [...sudo, "apt-get", "install", "-y", "-q", "time"];
  await step(cmd!, rest);
}

async function prepare(): Promise<void> {
  await ensureTime();
  const needNode = clients.some((c) => c.id === "ours-node");
  const needGo = clients.some((c) => c.id === "go");
  if (needNode && (!skipBuild || !(await exists(`${NODE_LIB_DIR}/esm/mod.js`)))) {
    // The npm build's JavaScript (tsconfig.npm.json, as `deno task build:npm`
    // compiles it), written to a private directory: a rebuild of npm/ by
    // another `deno task test` cannot pull the modules away mid-run.
    await Deno.remove(NODE_LIB_DIR, { recursive: true }).catch(() => {});
    const outDir = `${NODE_LIB_DIR}/esm`;
    await step(`${bin}/tsc`, [
      "-p",
      "tsconfig.npm.json",
      "--outDir",
      outDir,
      "--declaration",
      "false",
    ]);
    await Deno.writeTextFile(`${NODE_LIB_DIR}/package.json`, '{ "type": "module" }\n');
  }
  if (needGo && (!skipBuild || !(await exists(`${cacheBin}/faktory-bench-go`)))) {
    try {
      await Deno.mkdir(cacheBin, { recursive: true });
      // Built inside the pinning modules: versions come from their go.mod/go.sum.
      const load = "github.com/contribsys/faktory/test/load";
      await step(goBin, ["build", "-o", `${cacheBin}/faktory-load`, load], "scripts/faktory");
      await step(goBin, ["build", "-o", `${cacheBin}/faktory-bench-go`, "."], "scripts/bench/go");
    } catch (e) {
      err(`!!! cannot build the Go programs, the Go client is left out: ${e}`);
      clients = clients.filter((c) => c.id !== "go");
    }
  }
}

function childEnv(url: string): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.FAKTORY_PROVIDER;
  delete env.FAKTORY_POOL_SIZE;
  delete env.FAKTORY_QUEUE;
  return { ...env, FAKTORY_URL: url, NO_COLOR: "1", PATH: `${bin}:${env.PATH ?? ""}` };
}

const LOAD_LINE =
  /Processed (\d+) pushes and (\d+) pops in ([\d.]+) seconds, rate: ([\d.]+) jobs\/s/;

/** Runs one client process under /usr/bin/time and returns what it measured. */
async function runClient(command: string[], url: string, timeoutMs: number): Promise<Measured> {
  const timeFile = await Deno.makeTempFile({ prefix: "bench-time-" });
  try {
    const child = new Deno.Command(TIME, {
      args: ["-f", "%e %U %S %M", "-o", timeFile, ...command],
      env: childEnv(url),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // its own process group, so a timeout stops the client too
    }).spawn();
    const timer = setTimeout(() => {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    const r = await child.output();
    clearTimeout(timer);
    const stdout = new TextDecoder().decode(r.stdout).trim();
    const stderr = new TextDecoder().decode(r.stderr).trim();
    if (!r.success) {
      throw new Error(
        `exit code ${r.code}${r.signal ? ` (${r.signal}, timeout ${timeoutMs} ms?)` : ""}: ${
          [stderr, stdout].filter(Boolean).join("\n").slice(-2000)
        }`,
      );
    }
    let measured: Measured;
    const load = LOAD_LINE.exec(stdout);
    if (load) {
      const jobs = Number(command.at(-2));
      measured = {
        jobs,
        seconds: Number(load[3]),
        pushes: Number(load[1]),
        pops: Number(load[2]),
      };
    } else {
      const line = stdout.split("\n").reverse().find((l) => l.startsWith("{"));
      if (line === undefined) throw new Error(`no result line in:\n${stdout}\n${stderr}`);
      measured = JSON.parse(line) as Measured;
      delete measured.mode;
    }
    const times = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!.split(" ");
    const [wall, user, sys, rss] = times.map(Number) as [number, number, number, number];
    measured.wallProcess = wall;
    measured.cpuProcess = round(user + sys, 3);
    measured.peakRssKb = rss; // ru_maxrss of the whole process (= its VmHWM)
    return measured;
  } finally {
    await Deno.remove(timeFile).catch(() => {});
  }
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** FLUSH, then `count` no-op jobs into "default" with PUSHB (1000 a batch, 4 in flight). */
async function reset(url: string, count = 0): Promise<void> {
  const client = await Client.connect({ url, logger: silentLogger });
  try {
    await client.flush();
    const batches: JobPayload[][] = [];
    for (let done = 0; done < count; done += 1000) {
      batches.push(
        Array.from({ length: Math.min(1000, count - done) }, () => ({
          jid: randomJid(),
          jobtype: "SomeJob",
          args: [1, "string", 3],
          queue: "default",
        })),
      );
    }
    const inflight = new Set<Promise<unknown>>();
    for (const batch of batches) {
      const p = client.pushBulk(batch).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 4) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  } finally {
    await client.close();
  }
}

const loadAverage = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// ---- the run -------------------------------------------------------------------

interface Run extends Measured {
  scenario: string;
  client: ClientId;
  repeat: number;
  jobsPerSec?: number;
}

const runs: Run[] = [];
const failures: { scenario: string; client: string; error: string }[] = [];

async function measureOnce(
  label: string,
  client: ClientDef,
  command: string[],
  url: string,
  setup: () => Promise<void>,
  jobs: number,
): Promise<Measured | undefined> {
  await setup();
  await new Promise((r) => setTimeout(r, 200)); // let the server settle after the preload
  try {
    const before = await serverCpu();
    const m = await runClient(command, url, Math.max(60_000, jobs * 5));
    const after = await serverCpu();
    if (before !== undefined && after !== undefined) m.serverCpu = round(after - before, 2);
    return m;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    err(`!!! ${label} / ${client.id} failed: ${error}`);
    failures.push({ scenario: label, client: client.id, error });
    return undefined;
  }
}

/** Directories of the servers started here: their Faktory and Redis processes name them. */
const serverDirs: string[] = [];

/**
 * CPU seconds used so far by the servers' Faktory and Redis processes (from
 * /proc; undefined elsewhere): where the time goes when a client waits.
 */
async function serverCpu(): Promise<number | undefined> {
  let ticks = 0;
  try {
    for await (const entry of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
        if (!serverDirs.some((dir) => cmdline.includes(dir))) continue;
        const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      } catch { /* exited meanwhile */ }
    }
  } catch {
    return undefined;
  }
  return ticks / 100; // USER_HZ
}

function describe(m: Measured): string {
  if (m.ms) {
    return `${median(m.ms).toFixed(0)} ms median (${m.ms.map((x) => x.toFixed(0)).join(", ")})`;
  }
  const rate = m.jobs / m.seconds;
  const cpu = m.cpu ?? m.cpuProcess;
  return `${rate.toFixed(0)} jobs/s, ${m.seconds.toFixed(2)} s, cpu ${cpu?.toFixed(2)} s, rss ${
    ((m.peakRssKb ?? 0) / 1024).toFixed(0)
  } MiB`;
}

/** Runs every selected measurement; fills `runs`, `failures` and `versions`. */
async function measureAll(): Promise<void> {
  const version = async (name: string, cmd: string, args: string[]) => {
    versions[name] = await capture(cmd, args).then((t) => t.split("\n")[0]!, () => "?");
  };
  await version("deno", `${bin}/deno`, ["-V"]);
  await version("bun", `${bin}/bun`, ["-v"]);
  await version("node", "node", ["-v"]);
  await version("go", goBin, ["version"]);
  await version("faktory-worker", "node", [
    "-p",
    'require("./node_modules/faktory-worker/package.json").version',
  ]);

  out(`\nbench: ${quick ? "quick" : "full"} run, repeat ${repeat}, load average ${loadBefore}`);
  const server = await startFaktory();
  serverDirs.push(server.dir);
  let passwordServer: FaktoryServer | undefined;
  // Ctrl-C or a kill: stop the servers (and their Redis) before exiting.
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(name, () => {
      void Promise.all([server.stop(), passwordServer?.stop()]).finally(() => Deno.exit(130));
    });
  }
  await version("faktory", await faktoryBinary(), ["-v"]);
  try {
    // Warm-up: the first start of each runtime compiles and caches the sources.
    const warmup: Scenario = { id: "push-seq", title: "warm-up", mode: "push-seq", jobs: 10 };
    for (const client of clients) {
      await runClient(client.command(warmup)!, server.url, 60_000).catch((e) =>
        err(`!!! warm-up of ${client.id} failed: ${e instanceof Error ? e.message : e}`)
      );
    }
    for (const scenario of scenarios) {
      if (scenario.id === "rss") continue;
      let url = server.url;
      if (scenario.password) {
        passwordServer ??= await startFaktory({ password: "bench-secret" });
        serverDirs.push(passwordServer.dir);
        url = passwordServer.url;
      }
      out(
        `\n== ${scenario.title} (${scenario.jobs || scenario.concurrency} ${
          scenario.jobs ? "jobs" : "connects"
        })`,
      );
      for (let r = 0; r < repeat; r++) {
        for (const client of clients) {
          const command = client.command(scenario);
          if (command === undefined) continue;
          const m = await measureOnce(
            scenario.id,
            client,
            command,
            url,
            () => scenario.password ? Promise.resolve() : reset(url, scenario.preload),
            scenario.jobs,
          );
          if (m === undefined) continue;
          const run: Run = { scenario: scenario.id, client: client.id, repeat: r, ...m };
          if (m.jobs > 0) run.jobsPerSec = round(m.jobs / m.seconds, 0);
          runs.push(run);
          out(`   ${client.id.padEnd(15)} ${describe(m)}`);
        }
      }
    }
    if (wanted("rss")) {
      out(`\n== RSS check: drain at concurrency 10, ${SIZE.rssSmall} vs ${SIZE.rssLarge} jobs`);
      for (let r = 0; r < repeat; r++) {
        for (const client of ourRuntimes) {
          for (const capped of [false, true]) {
            if (capped && client.capped === undefined) continue;
            const prefix = capped ? "rss-capped" : "rss";
            for (const jobs of [SIZE.rssSmall, SIZE.rssLarge]) {
              const s: Scenario = {
                id: "rss",
                title: "rss",
                mode: "drain",
                jobs,
                concurrency: 10,
                preload: jobs,
              };
              const m = await measureOnce(
                `${prefix}-${jobs}`,
                client,
                capped ? client.capped!(s) : client.command(s)!,
                server.url,
                () => reset(server.url, jobs),
                jobs,
              );
              if (m === undefined) continue;
              runs.push({
                scenario: `${prefix}-${jobs}`,
                client: client.id,
                repeat: r,
                ...m,
                jobsPerSec: round(m.jobs / m.seconds, 0),
              });
              out(
                `   ${client.id.padEnd(15)} ${prefix.padEnd(10)} ${
                  String(jobs).padStart(6)
                } jobs: ${describe(m)}`,
              );
            }
          }
        }
      }
    }
  } finally {
    await server.stop();
    await passwordServer?.stop();
  }
}

const started = prior ? new Date(prior.date) : new Date();
const versions: Record<string, string> = prior?.versions ?? {};
const loadBefore = prior?.machine.loadBefore ?? await loadAverage();
if (prior) {
  runs.push(...prior.runs);
  failures.push(...prior.failures);
} else {
  await prepare();
  await measureAll();
}
const loadAfter = prior?.machine.loadAfter ?? await loadAverage();

// ---- summary -------------------------------------------------------------------

interface Cell {
  jobsPerSec?: number;
  cpuPer10k?: number;
  cpuSource?: "phase" | "process";
  /** Faktory + Redis CPU seconds per 10,000 jobs over the client's whole run. */
  serverCpuPer10k?: number;
  /** That CPU over the measured phase's seconds: 2 is both cores of this machine. */
  serverCores?: number;
  peakRssMb?: number;
  /** JavaScript heap in use after a forced full GC at the end (drain runs of this library). */
  liveHeapMb?: number;
  connectMs?: { median: number; min: number; max: number };
  runs: number;
}

const summary: Record<string, Partial<Record<ClientId, Cell>>> = {};
for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
  summary[scenario] = {};
  for (const client of CLIENT_IDS) {
    const mine = runs.filter((r) => r.scenario === scenario && r.client === client);
    if (mine.length === 0) continue;
    const cell: Cell = { runs: mine.length };
    const phase = mine.every((r) => r.cpu !== undefined);
    if (mine[0]!.jobs > 0) {
      cell.jobsPerSec = round(median(mine.map((r) => r.jobsPerSec!)), 0);
      cell.cpuPer10k = round(
        median(mine.map((r) => ((phase ? r.cpu! : r.cpuProcess!) / r.jobs) * 10_000)),
        3,
      );
      cell.cpuSource = phase ? "phase" : "process";
      if (mine.every((r) => typeof r.serverCpu === "number")) {
        const server = mine.map((r) => r.serverCpu as number);
        cell.serverCpuPer10k = round(median(server.map((c, i) => (c / mine[i]!.jobs) * 10_000)), 3);
        cell.serverCores = round(median(server.map((c, i) => c / mine[i]!.seconds)), 2);
      }
    }
    cell.peakRssMb = round(median(mine.map((r) => (r.peakRssKb ?? 0) / 1024)), 1);
    if (mine.every((r) => typeof r.liveHeapKb === "number")) {
      cell.liveHeapMb = round(median(mine.map((r) => (r.liveHeapKb as number) / 1024)), 1);
    }
    const ms = mine.flatMap((r) => r.ms ?? []);
    if (ms.length > 0) {
      cell.connectMs = {
        median: round(median(ms), 1),
        min: round(Math.min(...ms), 1),
        max: round(Math.max(...ms), 1),
      };
    }
    summary[scenario]![client] = cell;
  }
}

interface Target {
  target: string;
  client: ClientId;
  value: number;
  required: string;
  holds: boolean;
}
const targets: Target[] = [];
const cell = (s: string, c: ClientId) => summary[s]?.[c];
for (const c of ourRuntimes) {
  const id = c.id;
  for (const s of ["drain-10", "drain-50"]) {
    const mine = cell(s, id)?.jobsPerSec;
    const fw = cell(s, "faktory-worker")?.jobsPerSec;
    const go = cell(s, "go")?.jobsPerSec;
    if (mine && fw) {
      const v = round(mine / fw, 2);
      targets.push({
        target: `${s}: jobs/s vs faktory-worker`,
        client: id,
        value: v,
        required: ">= 1.5",
        holds: v >= 1.5,
      });
    }
    if (mine && go) {
      const v = round(mine / go, 2);
      targets.push({
        target: `${s}: jobs/s vs Go`,
        client: id,
        value: v,
        required: ">= 0.9",
        holds: v >= 0.9,
      });
    }
  }
  const mixed = cell("mixed", id)?.jobsPerSec;
  const goMixed = cell("mixed", "go")?.jobsPerSec;
  if (mixed && goMixed) {
    const v = round(mixed / goMixed, 2);
    targets.push({
      target: "mixed: jobs/s vs Go",
      client: id,
      value: v,
      required: ">= 0.9",
      holds: v >= 0.9,
    });
  }
  const seq = cell("push-seq", id)?.jobsPerSec;
  const bulk = cell("pushb-1000", id)?.jobsPerSec;
  if (seq && bulk) {
    const v = round(bulk / seq, 1);
    targets.push({
      target: "PUSHB x 1000 vs sequential PUSH",
      client: id,
      value: v,
      required: ">= 10",
      holds: v >= 10,
    });
  }
  for (const s of ["drain-10", "drain-50", "mixed"]) {
    const mine = cell(s, id)?.cpuPer10k;
    const go = cell(s, "go")?.cpuPer10k;
    if (mine && go) {
      const v = round(mine / go, 2);
      targets.push({
        target: `${s}: CPU per job vs Go`,
        client: id,
        value: v,
        required: "<= 2",
        holds: v <= 2,
      });
    }
  }
  for (const [prefix, how] of [["rss", ""], ["rss-capped", `, run with ${SEMI_SPACE_CAP}`]]) {
    const small = cell(`${prefix}-${SIZE.rssSmall}`, id)?.peakRssMb;
    const large = cell(`${prefix}-${SIZE.rssLarge}`, id)?.peakRssMb;
    if (small && large) {
      const v = round(large / small, 3);
      targets.push({
        target: `peak RSS, ${SIZE.rssLarge} vs ${SIZE.rssSmall} jobs${how}`,
        client: id,
        value: v,
        required: "<= 1.10",
        holds: v <= 1.1,
      });
    }
  }
  const liveSmall = cell(`rss-${SIZE.rssSmall}`, id)?.liveHeapMb;
  const liveLarge = cell(`rss-${SIZE.rssLarge}`, id)?.liveHeapMb;
  if (liveSmall && liveLarge) {
    const v = round(liveLarge / liveSmall, 3);
    targets.push({
      target: `(leak check) live heap after GC, ${SIZE.rssLarge} vs ${SIZE.rssSmall} jobs`,
      client: id,
      value: v,
      required: "<= 1.10",
      holds: v <= 1.1,
    });
  }
}

const command = prior?.command ??
  `deno task bench${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`;
const results = {
  date: started.toISOString(),
  command,
  quick,
  repeat,
  sizes: SIZE,
  machine: {
    ...prior?.machine ?? {
      cpus: navigator.hardwareConcurrency,
      model: (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
        .match(/^model name\s*:\s*(.*)$/m)?.[1],
    },
    loadBefore,
    loadAfter,
  },
  versions,
  clients: Object.fromEntries(clients.map((c) => [c.id, c.label])),
  scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.id, s.title])),
  summary,
  targets,
  failures,
  runs,
};

await Deno.mkdir(outDir, { recursive: true });
await Deno.writeTextFile(`${outDir}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
const markdown = renderMarkdown();
await Deno.writeTextFile(`${outDir}/results.md`, markdown);
await Deno.writeTextFile(`${outDir}/jobs_per_sec.svg`, renderSvg());
// In the repo's own style, so that `deno task check` (deno fmt --check) passes on bench/.
const written = ["results.md", "results.json", "jobs_per_sec.svg"].map((f) => `${outDir}/${f}`);
await new Deno.Command(`${bin}/deno`, { args: ["fmt", "--quiet", ...written], stderr: "null" })
  .output().catch(() => {});
out(`\n${await Deno.readTextFile(`${outDir}/results.md`)}`);
out(`bench: wrote ${outDir}/results.md, ${outDir}/results.json, ${outDir}/jobs_per_sec.svg`);
if (failures.length > 0) err(`bench: ${failures.length} run(s) failed`);
Deno.exit(failures.length > 0 ? 1 : 0); // also ends the signal listeners

// ---- rendering -----------------------------------------------------------------

function renderMarkdown(): string {
  const shown = clients.map((c) => c.id);
  const label = (id: ClientId) => CLIENTS.find((c) => c.id === id)!.label;
  const lines: string[] = [];
  const table = (
    title: string,
    rows: string[],
    value: (s: string, c: ClientId) => string | undefined,
    rowTitle = (s: string) => results.scenarios[s as ScenarioId] ?? s,
  ) => {
    const present = rows.filter((s) => shown.some((c) => value(s, c) !== undefined));
    if (present.length === 0) return;
    lines.push(`### ${title}`, "");
    lines.push(`| | ${shown.map(label).join(" | ")} |`);
    lines.push(`|---|${shown.map(() => "---:").join("|")}|`);
    for (const s of present) {
      lines.push(`| ${rowTitle(s)} | ${shown.map((c) => value(s, c) ?? "–").join(" | ")} |`);
    }
    lines.push("");
  };
  lines.push(`## Benchmark results${quick ? " (quick run: small sizes, not comparable)" : ""}`, "");
  lines.push(
    `\`${command}\`, ${results.date}; ${results.machine.cpus} CPUs (${
      results.machine.model ?? "?"
    }),`,
  );
  lines.push(`load average ${loadBefore} before, ${loadAfter} after; median of ${repeat} run(s).`);
  lines.push(
    `Deno ${
      versions.deno?.replace(/^deno /, "")
    }, Bun ${versions.bun}, Node ${versions.node}, ${versions.go}, ` +
      `faktory-worker ${
        versions["faktory-worker"]
      }, ${versions.faktory}; client and server share the machine.`,
    "",
  );
  lines.push(
    `Sizes: push ${SIZE.push} jobs (PUSHB x 100: ${SIZE.push * 2}, x 1000: ${
      SIZE.push * 5
    }); drain ${SIZE.drain} ` +
      `preloaded jobs; mixed \`${SIZE.mixed} 10\`; connect ${SIZE.connect} sequential connections.`,
    "",
    "How each client runs them: *PUSH, 50 concurrent*: this library's Producer (a pool of 4",
    "pipelined connections), Go 50 goroutines with a connection each (its client does not",
    "pipeline), faktory-worker its Client's pool (20). *PUSHB*: one command at a time on one",
    "connection. *drain*: this library's Worker (defaults: `fetchers` = concurrency up to 16; a",
    "finished job's ACK goes ahead of its fetcher's next FETCH in one write when that fetcher is",
    "waiting, else over as many ACK connections), Go one goroutine and connection per slot doing",
    "FETCH then ACK (the",
    "load tester's poppers), faktory-worker its Worker (pool of concurrency + 2); timed from the",
    "first job (Go: from connected) to the last confirmed ACK. *mixed*: each thread a client of its",
    "own, as in the load tester.",
    "",
  );
  const jobScenarios = SCENARIOS.filter((s) => s.mode !== "connect").map((s) => s.id);
  table("Throughput (jobs/s, higher is better)", jobScenarios, (s, c) => {
    const v = summary[s]?.[c]?.jobsPerSec;
    return v === undefined ? undefined : v.toLocaleString("en-US");
  });
  table("Client CPU seconds per 10,000 jobs (lower is better)", jobScenarios, (s, c) => {
    const x = summary[s]?.[c];
    return x?.cpuPer10k === undefined
      ? undefined
      : `${x.cpuPer10k.toFixed(2)}${x.cpuSource === "process" ? "*" : ""}`;
  });
  lines.push(
    "CPU is user + system time of the client process (all its threads) during the measured phase;",
    "`*` = whole process (the load tester cannot be instrumented; its start-up costs a few ms).",
    "",
  );
  table(
    "Server CPU (Faktory + Redis) seconds per 10,000 jobs, and cores busy (where the time goes)",
    jobScenarios,
    (s, c) => {
      const x = summary[s]?.[c];
      return x?.serverCpuPer10k === undefined
        ? undefined
        : `${x.serverCpuPer10k.toFixed(2)} (${x.serverCores?.toFixed(2)})`;
    },
  );
  lines.push(
    "Measured from /proc over the client's whole run, divided by the jobs; in brackets that CPU",
    "over the measured phase's seconds (the server idles while a client starts and stops), i.e.",
    "how many cores the server kept busy. PUSHB stays under one: the server pushes a bulk's jobs",
    "one Redis round trip after another on one goroutine (Faktory 1.9.4 server/commands.go).",
    "",
  );
  table("Peak RSS of the client process (MiB)", jobScenarios, (s, c) => {
    const v = summary[s]?.[c]?.peakRssMb;
    return v === undefined ? undefined : v.toFixed(0);
  });
  table(
    "Connect + HELLO against a password-protected server (ms per connection: median, min-max)",
    ["connect"],
    (s, c) => {
      const x = summary[s]?.[c]?.connectMs;
      return x === undefined ? undefined : `${x.median} (${x.min}-${x.max})`;
    },
  );
  const rssRows = ["rss", "rss-capped"].flatMap((p) =>
    [SIZE.rssSmall, SIZE.rssLarge].map((n) => `${p}-${n}`)
  );
  table(
    "RSS check: a worker draining N jobs at concurrency 10: peak RSS MiB / live heap after GC MiB (jobs/s)",
    rssRows,
    (s, c) => {
      const x = summary[s]?.[c];
      return x?.peakRssMb === undefined
        ? undefined
        : `${x.peakRssMb} / ${x.liveHeapMb ?? "–"} (${x.jobsPerSec} jobs/s)`;
    },
    (s) =>
      `${Number(s.slice(s.lastIndexOf("-") + 1)).toLocaleString("en-US")} jobs${
        s.startsWith("rss-capped") ? `, ${SEMI_SPACE_CAP}` : ""
      }`,
  );
  if (targets.length > 0) {
    lines.push(
      "### Targets (ratios from this run)",
      "",
      "| target | client | value | required | holds |",
      "|---|---|---:|---|---|",
    );
    for (const t of targets) {
      lines.push(
        `| ${t.target} | ${label(t.client)} | ${t.value} | ${t.required} | ${
          t.holds ? "yes" : "**no**"
        } |`,
      );
    }
    lines.push("");
    const ratio = (a: string, b: string, ca: ClientId, cb: ClientId) => {
      const x = summary[a]?.[ca]?.jobsPerSec, y = summary[b]?.[cb]?.jobsPerSec;
      return x && y ? (x / y).toFixed(2) : "–";
    };
    if (summary["push-seq"]?.go || summary["drain-10"]?.go) {
      lines.push(
        `For reference: the Go client's PUSHB x 1000 / sequential PUSH = ${
          ratio("pushb-1000", "push-seq", "go", "go")
        }; faktory-worker / Go at drain concurrency 10 = ${
          ratio("drain-10", "drain-10", "faktory-worker", "go")
        }, at 50 = ${ratio("drain-50", "drain-50", "faktory-worker", "go")}.`,
        "",
      );
    }
  }
  if (failures.length > 0) {
    lines.push("### Failed runs", "");
    for (const f of failures) {
      lines.push(`- ${f.scenario} / ${f.client}: ${f.error.split("\n")[0]}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** Small multiples: one panel per scenario, a bar per client, each panel its own scale. */
function renderSvg(): string {
  const panels = SCENARIOS.filter((s) => s.mode !== "connect" && summary[s.id]);
  const shown = clients.filter((c) => panels.some((p) => summary[p.id]?.[c.id]?.jobsPerSec));
  const cols = 2, panelW = 460, barH = 18, gap = 6, labelW = 0;
  const panelH = 40 + shown.length * (barH + gap);
  const legendH = 38 + shown.length * 18;
  const width = cols * panelW + 20;
  const height = legendH + Math.ceil(panels.length / cols) * (panelH + 10) + 10;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Jobs per second${
      quick ? " (quick run)" : ""
    }: one Faktory 1.9.4, ${esc(results.date.slice(0, 10))}</text>`,
  );
  shown.forEach((c, i) => {
    const y = 32 + i * 18;
    parts.push(
      `<rect x="10" y="${y}" width="12" height="12" fill="${c.color}"/>`,
      `<text x="28" y="${y + 10}">${esc(c.label)}</text>`,
    );
  });
  panels.forEach((p, i) => {
    const x0 = 10 + (i % cols) * panelW;
    const y0 = legendH + Math.floor(i / cols) * (panelH + 10);
    const values = shown.map((c) => summary[p.id]?.[c.id]?.jobsPerSec ?? 0);
    const max = Math.max(...values, 1);
    const barMax = panelW - 30 - labelW - 80;
    parts.push(
      `<rect x="${x0}" y="${y0}" width="${
        panelW - 10
      }" height="${panelH}" fill="#f6f6f6" stroke="#ddd"/>`,
      `<text x="${x0 + 8}" y="${y0 + 18}" font-weight="bold">${esc(p.title)}</text>`,
    );
    shown.forEach((c, j) => {
      const v = values[j]!;
      const y = y0 + 28 + j * (barH + gap);
      const w = Math.max(v > 0 ? 1 : 0, (v / max) * barMax);
      parts.push(
        `<rect x="${x0 + 8 + labelW}" y="${y}" width="${
          w.toFixed(1)
        }" height="${barH}" fill="${c.color}"><title>${esc(c.label)}: ${v} jobs/s</title></rect>`,
        `<text x="${x0 + 12 + labelW + w}" y="${y + 13}">${
          v > 0 ? v.toLocaleString("en-US") : "–"
        }</text>`,
      );
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/**
 * The measuring half of `deno task bench`: starts a dedicated Faktory, runs
 * every selected client (each its own process under /usr/bin/time) through
 * every selected scenario, and returns what results.json holds. Rendering is
 * scripts/bench/render.ts.
 *
 * @module
 */

import { Client, type JobPayload, randomJid, silentLogger } from "../../mod.ts";
import { faktoryBinary, type FaktoryServer, startFaktory } from "../../tests/harness/faktory.ts";
import { bin, cacheBin, capture, err, exists, loadAverage, out, root, run } from "../shared.ts";
import {
  CLIENT_STYLE,
  type ClientId,
  type Measured,
  type Results,
  type Run,
  type Scenario,
  type ScenarioId,
  scenarios as allScenarios,
  SEMI_SPACE_CAP,
  sizes,
} from "./results.ts";

/** What to measure. */
export interface MeasureOptions {
  readonly quick: boolean;
  readonly repeat: number;
  /** Only these clients (all when empty). */
  readonly clients: ReadonlySet<string>;
  /** Only these scenarios (all but the RSS check in --quick when empty). */
  readonly scenarios: ReadonlySet<string>;
  /** Only the RSS check. */
  readonly rssOnly: boolean;
  /** Reuse the last Node compile and Go builds. */
  readonly skipBuild: boolean;
  /** The command line, for the results. */
  readonly command: string;
}

/** The npm build's JavaScript, compiled for the Node runs (see prepare()). */
const NODE_LIB_DIR = "build/bench-npm";

interface ClientDef {
  readonly id: ClientId;
  /** The command for a scenario, or undefined if this client does not run it. */
  command(s: Scenario): string[] | undefined;
  /** The same with V8's young generation capped (RSS check only; V8 runtimes only). */
  capped?(s: Scenario): string[];
}

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
    command: ours([`${bin}/bun`, "scripts/bench/ours.mjs"]),
  },
  {
    id: "ours-node",
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
    command: ours(["node", "scripts/bench/faktory_worker.mjs"]),
  },
];

const goBin = await exists("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
const TIME = "/usr/bin/time";

async function step(cmd: string, args: string[], cwd = root): Promise<void> {
  const code = await run(cmd, args, { cwd });
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with code ${code}`);
}

/** /usr/bin/time (GNU time) gives each client process's CPU and peak RSS. */
async function ensureTime(): Promise<void> {
  if (await exists(TIME)) return;
  out("bench: /usr/bin/time is missing; installing the Debian package `time` with apt-get");
  const sudo = Deno.uid() === 0 ? [] : ["sudo", "-n"];
  const [cmd, ...rest] = [...sudo, "apt-get", "install", "-y", "-q", "time"];
  await step(cmd!, rest);
}

/** Installs /usr/bin/time, compiles for Node, builds the Go programs; returns the clients that can run. */
async function prepare(clients: ClientDef[], skipBuild: boolean): Promise<ClientDef[]> {
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
      return clients.filter((c) => c.id !== "go");
    }
  }
  return clients;
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

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One client run after `setup`, with the servers' CPU around it; a failure is recorded. */
async function measureOnce(
  label: string,
  client: ClientDef,
  command: string[],
  url: string,
  setup: () => Promise<void>,
  jobs: number,
  serverDirs: readonly string[],
  failures: Results["failures"],
): Promise<Measured | undefined> {
  await setup();
  await new Promise((r) => setTimeout(r, 200)); // let the server settle after the preload
  try {
    const before = await serverCpu(serverDirs);
    const m = await runClient(command, url, Math.max(60_000, jobs * 5));
    const after = await serverCpu(serverDirs);
    if (before !== undefined && after !== undefined) m.serverCpu = round(after - before, 2);
    return m;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    err(`!!! ${label} / ${client.id} failed: ${error}`);
    failures.push({ scenario: label, client: client.id, error });
    return undefined;
  }
}

/**
 * CPU seconds used so far by the Faktory and Redis processes of the servers
 * in `serverDirs` (their command lines name them; from /proc, undefined
 * elsewhere): where the time goes when a client waits.
 */
async function serverCpu(serverDirs: readonly string[]): Promise<number | undefined> {
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

/** Runs every selected measurement against a dedicated server. */
export async function measure(options: MeasureOptions): Promise<Results> {
  const { quick, repeat, rssOnly } = options;
  const SIZE = sizes(quick);
  const wanted = (id: ScenarioId) =>
    options.scenarios.size > 0
      ? options.scenarios.has(id)
      : rssOnly
      ? id === "rss"
      : id !== "rss" || !quick;
  const scenarios = allScenarios(SIZE).filter((s) => wanted(s.id));
  const selected = CLIENTS.filter((c) => options.clients.size === 0 || options.clients.has(c.id));
  const date = new Date().toISOString();
  const loadBefore = await loadAverage();
  const clients = await prepare(selected, options.skipBuild);
  const ourRuntimes = clients.filter((c) => c.id.startsWith("ours-"));
  const runs: Run[] = [];
  const failures: Results["failures"] = [];
  const versions: Record<string, string> = {};
  /** Directories of the servers started here: their Faktory and Redis processes name them. */
  const serverDirs: string[] = [];
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
            serverDirs,
            failures,
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
                serverDirs,
                failures,
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
  return {
    date,
    command: options.command,
    quick,
    repeat,
    sizes: SIZE,
    machine: {
      cpus: navigator.hardwareConcurrency,
      model: (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
        .match(/^model name\s*:\s*(.*)$/m)?.[1],
      loadBefore,
      loadAfter: await loadAverage(),
    },
    versions,
    clients: Object.fromEntries(clients.map((c) => [c.id, CLIENT_STYLE[c.id].label])),
    scenarios: Object.fromEntries(allScenarios(SIZE).map((s) => [s.id, s.title])),
    failures,
    runs,
  };
}

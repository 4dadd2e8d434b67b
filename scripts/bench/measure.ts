/**
 * The measuring half of `deno task bench`: starts a dedicated Faktory, runs
 * every selected client (each its own process under /usr/bin/time, see
 * scripts/bench/process.ts) through every selected scenario, and returns what
 * results.json holds. Rendering is scripts/bench/render.ts.
 *
 * @module
 */

import { faktoryBinary, type FaktoryServer, startFaktory } from "../../tests/harness/faktory.ts";
import { bin, cacheBin, capture, err, loadAverage, out } from "../shared.ts";
import {
  goBin,
  machineCpu,
  median,
  NODE_LIB_DIR,
  prepare,
  reset,
  round,
  runClient,
  serverCpu,
} from "./process.ts";
import {
  CLIENT_STYLE,
  type ClientId,
  FLOOR_PUSH_CONNECTIONS,
  type Measured,
  type Results,
  type Run,
  type Scenario,
  type ScenarioId,
  scenarios as allScenarios,
  sizes,
} from "./results.ts";

/** The Faktory version the bench's figures are for (issue 17): another is warned about. */
export const FAKTORY_VERSION = "1.10.0";

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
  /** Only the memory check, up to 1M jobs (--long). */
  readonly long: boolean;
  /** Reuse the last Node compile and Go builds. */
  readonly skipBuild: boolean;
  /** The command line, for the results. */
  readonly command: string;
}

interface ClientDef {
  readonly id: ClientId;
  /** The command for a scenario, or undefined if this client does not run it. */
  command(s: Scenario): string[] | undefined;
}

/** A JavaScript runner's command: `<runtime> <script> <mode> <json options>`. */
const runner = (runtime: string[], modes: readonly Scenario["mode"][], lib?: string) =>
(
  s: Scenario,
): string[] | undefined => {
  if (!modes.includes(s.mode)) return undefined;
  const options: Record<string, unknown> = { jobs: s.jobs };
  if (s.mode === "push-conc" || s.mode === "drain" || s.mode === "first-job") {
    options.concurrency = s.concurrency;
  }
  if (s.mode === "push-conc") options.connections = FLOOR_PUSH_CONNECTIONS; // the floor's
  if (s.mode === "pushb") options.batch = s.batch;
  if (s.warmup) options.warmup = s.warmup;
  if (s.mode === "mixed") options.threads = s.concurrency;
  if (s.mode === "connect") options.count = s.concurrency;
  if (s.mode === "first-job") options.count = s.count;
  if (lib) options.lib = lib;
  return [...runtime, s.mode, JSON.stringify(options)];
};

const JOB_MODES = ["push-seq", "push-conc", "pushb", "drain", "mixed", "connect"] as const;
const OUR_MODES = [...JOB_MODES, "first-job"] as const;
const DENO = [`${bin}/deno`, "run", "-A", "--v8-flags=--expose-gc"];
const NODE_LIB = `../../${NODE_LIB_DIR}/esm/mod.js`;

const CLIENTS: ClientDef[] = [
  { id: "ours-deno", command: runner([...DENO, "scripts/bench/ours.mjs"], OUR_MODES) },
  { id: "ours-bun", command: runner([`${bin}/bun`, "scripts/bench/ours.mjs"], OUR_MODES) },
  {
    id: "ours-node",
    command: runner(["node", "--expose-gc", "scripts/bench/ours.mjs"], OUR_MODES, NODE_LIB),
  },
  { id: "floor-deno", command: runner([...DENO, "scripts/bench/floor.mjs"], JOB_MODES) },
  { id: "floor-bun", command: runner([`${bin}/bun`, "scripts/bench/floor.mjs"], JOB_MODES) },
  { id: "floor-node", command: runner(["node", "scripts/bench/floor.mjs"], JOB_MODES) },
  {
    id: "go",
    command(s) {
      const go = `${cacheBin}/faktory-bench-go`;
      const warmup = String(s.warmup ?? 0);
      switch (s.mode) {
        case "push-seq":
          return [go, "push-seq", String(s.jobs), "1", warmup];
        case "push-conc":
        case "drain":
          return [go, s.mode, String(s.jobs), String(s.concurrency), warmup];
        case "pushb":
          return [go, "pushb", String(s.jobs), String(s.batch), warmup];
        case "mixed": // the load tester itself
          return [`${cacheBin}/faktory-load`, String(s.jobs), String(s.concurrency)];
        case "connect":
          return [go, "connect", String(s.concurrency)];
        default:
          return undefined;
      }
    },
  },
  {
    id: "faktory-worker",
    command: runner(["node", "scripts/bench/faktory_worker.mjs"], JOB_MODES),
  },
];

/** One client run after `setup`, with the servers' CPU around it; a failure is recorded. */
async function measureOnce(
  label: string,
  client: ClientDef,
  command: string[],
  url: string,
  setup: () => Promise<void>,
  jobs: number,
  warmup: number,
  serverDirs: readonly string[],
  failures: Results["failures"],
): Promise<Measured | undefined> {
  await setup();
  await new Promise((r) => setTimeout(r, 200)); // let the server settle after the preload
  try {
    const busy0 = await machineCpu();
    const t0 = performance.now();
    const before = await serverCpu(serverDirs);
    const m = await runClient(command, url, Math.max(60_000, (jobs + warmup) * 5));
    if (warmup > 0) m.warmup = warmup;
    const after = await serverCpu(serverDirs);
    const seconds = (performance.now() - t0) / 1000;
    const busy1 = await machineCpu();
    const server = before !== undefined && after !== undefined ? after - before : undefined;
    if (server !== undefined) m.serverCpu = round(server, 2);
    if (busy0 !== undefined && busy1 !== undefined && server !== undefined) {
      // What else kept the cores busy meanwhile (other processes, this bench): the
      // client's CPU per job moves with it, so a figure taken beside other load is suspect.
      const other = busy1 - busy0 - (m.cpuProcess ?? 0) - server;
      m.otherCores = round(Math.max(0, other) / seconds, 2);
    }
    return m;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    err(`!!! ${label} / ${client.id} failed: ${error}`);
    failures.push({ scenario: label, client: client.id, error });
    return undefined;
  }
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

/**
 * The order of a repeat's runs: each library beside its floor, and Go and
 * faktory-worker between them, since ratios are taken within a repeat
 * (summary.ts). Every other repeat runs it backwards, so no client always
 * runs first, or right after the same one.
 */
const RUN_ORDER: readonly ClientId[] = [
  "ours-deno",
  "floor-deno",
  "ours-bun",
  "floor-bun",
  "go",
  "faktory-worker",
  "ours-node",
  "floor-node",
];

/** Runs every selected measurement against a dedicated server. */
export async function measure(options: MeasureOptions): Promise<Results> {
  const { quick, repeat, long } = options;
  const rssOnly = options.rssOnly || long;
  const SIZE = sizes(quick);
  const wanted = (id: ScenarioId) =>
    options.scenarios.size > 0 && !long
      ? options.scenarios.has(id)
      : rssOnly
      ? id === "rss"
      : id !== "rss" || !quick;
  const rssSizes = [SIZE.rssSmall, SIZE.rssLarge, ...(long ? [SIZE.rssLong] : [])];
  const scenarios = allScenarios(SIZE).filter((s) => wanted(s.id));
  const selected = CLIENTS.filter((c) => options.clients.size === 0 || options.clients.has(c.id));
  const date = new Date().toISOString();
  const started = performance.now();
  const loadBefore = await loadAverage();
  const goBuilt = await prepare(
    selected.some((c) => c.id === "ours-node"),
    selected.some((c) => c.id === "go"),
    options.skipBuild,
  );
  const clients = selected.filter((c) => goBuilt || c.id !== "go");
  const ourRuntimes = clients.filter((c) => c.id.startsWith("ours-"));
  const inOrder = [...clients].sort((a, b) => RUN_ORDER.indexOf(a.id) - RUN_ORDER.indexOf(b.id));
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
  if (!versions.faktory?.includes(FAKTORY_VERSION)) {
    err(`!!! the server is ${versions.faktory}, not Faktory ${FAKTORY_VERSION} (FAKTORY_BIN?)`);
  }
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
        if (passwordServer === undefined) {
          passwordServer = await startFaktory({ password: "bench-secret" });
          serverDirs.push(passwordServer.dir);
        }
        url = passwordServer.url;
      }
      out(
        `\n== ${scenario.title} (${scenario.jobs || scenario.count || scenario.concurrency} ${
          scenario.jobs ? "jobs" : "times"
        })`,
      );
      for (let r = 0; r < repeat; r++) {
        for (const client of r % 2 === 0 ? inOrder : [...inOrder].reverse()) {
          const command = client.command(scenario);
          if (command === undefined) continue;
          const m = await measureOnce(
            scenario.id,
            client,
            command,
            url,
            () => scenario.password ? Promise.resolve() : reset(url, scenario.preload),
            scenario.jobs,
            scenario.warmup ?? 0,
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
      // Memory is steadier than speed: measured once, whatever --repeat says.
      out(`\n== memory: drain at concurrency 10, ${rssSizes.join(" / ")} jobs`);
      for (const client of ourRuntimes) {
        for (const jobs of rssSizes) {
          const s: Scenario = {
            id: "rss",
            title: "rss",
            mode: "drain",
            jobs,
            concurrency: 10,
            preload: jobs,
          };
          const m = await measureOnce(
            `rss-${jobs}`,
            client,
            client.command(s)!,
            server.url,
            () => reset(server.url, jobs),
            jobs,
            0,
            serverDirs,
            failures,
          );
          if (m === undefined) continue;
          const run: Run = { scenario: `rss-${jobs}`, client: client.id, repeat: 0, ...m };
          runs.push({ ...run, jobsPerSec: round(m.jobs / m.seconds, 0) });
          out(`   ${client.id.padEnd(15)} ${String(jobs).padStart(7)} jobs: ${describe(m)}`);
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
    long,
    repeat,
    sizes: SIZE,
    minutes: round((performance.now() - started) / 60_000, 1),
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

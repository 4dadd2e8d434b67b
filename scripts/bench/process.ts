/**
 * The client processes of `deno task bench` (scripts/bench/measure.ts): the
 * builds they need, running one under /usr/bin/time, the server's preload
 * and the server's CPU around a run.
 *
 * @module
 */

import { Client, type JobPayload, randomJid, silentLogger } from "../../mod.ts";
import { bin, cacheBin, err, exists, out, root, run } from "../shared.ts";
import type { Measured } from "./results.ts";

/** The npm build's JavaScript, compiled for the Node runs (see prepare()). */
export const NODE_LIB_DIR = "build/bench-npm";

export const goBin = await exists("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
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

/**
 * Installs /usr/bin/time, compiles for Node, builds the Go programs; false if
 * the Go programs cannot be built (the Go client is then left out).
 */
export async function prepare(
  needNode: boolean,
  needGo: boolean,
  skipBuild: boolean,
): Promise<boolean> {
  await ensureTime();
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
  const goBuilt = (await exists(`${cacheBin}/faktory-bench-go`)) &&
    (await exists(`${cacheBin}/faktory-load`));
  if (needGo && (!skipBuild || !goBuilt)) {
    try {
      await Deno.mkdir(cacheBin, { recursive: true });
      // Built inside the pinning modules: versions come from their go.mod/go.sum.
      const load = "github.com/contribsys/faktory/test/load";
      await step(goBin, ["build", "-o", `${cacheBin}/faktory-load`, load], "scripts/faktory");
      await step(goBin, ["build", "-o", `${cacheBin}/faktory-bench-go`, "."], "scripts/bench/go");
    } catch (e) {
      err(`!!! cannot build the Go programs, the Go client is left out: ${e}`);
      return false;
    }
  }
  return true;
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
export async function runClient(
  command: string[],
  url: string,
  timeoutMs: number,
): Promise<Measured> {
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

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** FLUSH, then `count` no-op jobs into "default" with PUSHB (1000 a batch, 4 in flight). */
export async function reset(url: string, count = 0): Promise<void> {
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

/**
 * CPU seconds used so far by the Faktory and Redis processes of the servers
 * in `serverDirs` (their command lines name them; from /proc, undefined
 * elsewhere): where the time goes when a client waits.
 */
export async function serverCpu(serverDirs: readonly string[]): Promise<number | undefined> {
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

/**
 * CPU seconds the whole machine has been busy (all cores, from the first line
 * of /proc/stat: all but idle and iowait), or undefined elsewhere.
 */
export async function machineCpu(): Promise<number | undefined> {
  try {
    const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0]!;
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.split(/\s+/).slice(1)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

/**
 * What every JavaScript bench runner shares (scripts/bench/ours.mjs,
 * scripts/bench/faktory_worker.mjs): argument parsing, CPU accounting and the
 * result line. Plain JavaScript so that Deno, Bun and Node run the very same
 * file. Not part of the library.
 *
 * @module
 */

import process from "node:process";

// Deno reads /proc through its own API: a program that loads node:fs there
// sees its short-lived objects survive young-generation collections (Deno
// 2.9.6), which raised a worker's peak RSS from 72 to 92 MiB at 40,000 jobs.
// The runners measure the client, not what their own imports do to it.
const deno = /** @type {any} */ (globalThis).Deno;
const readText = deno
  ? (/** @type {string} */ path) => deno.readTextFileSync(path)
  : ((fs) => (/** @type {string} */ path) => fs.readFileSync(path, "utf8"))(
    await import("node:fs"),
  );

/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat times. */
const CLK_TCK = 100;

/**
 * User + system CPU seconds of this whole process (every thread: JIT, GC,
 * I/O), from /proc/self/stat, the same accounting as getrusage(RUSAGE_SELF).
 * 10 ms resolution.
 */
export function cpuSeconds() {
  try {
    const stat = readText("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
}

/** Peak resident set size of this process so far, in KiB (VmHWM), or undefined. */
export function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readText("/proc/self/status"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The JavaScript heap still in use after a full garbage collection, in KiB:
 * what a leak would make grow. Needs `--expose-gc` (Node), `--v8-flags=--expose-gc`
 * (Deno); Bun has `Bun.gc`. Undefined without a way to collect.
 */
export function liveHeapKb() {
  const bun = /** @type {any} */ (globalThis).Bun;
  const gc = /** @type {any} */ (globalThis).gc ?? (bun ? () => bun.gc(true) : undefined);
  if (typeof gc !== "function") return undefined;
  gc();
  gc();
  return Math.round(process.memoryUsage().heapUsed / 1024);
}

/**
 * `<mode> <json options>` from argv (after the script's own path).
 * @returns {{ mode: string, options: Record<string, any> }}
 */
export function parseArgs() {
  const args = process.argv.slice(2);
  const mode = args[0];
  if (mode === undefined) fail("usage: <runner> <mode> [json options]");
  let options = {};
  try {
    options = args[1] === undefined ? {} : JSON.parse(args[1]);
  } catch (e) {
    fail(`bad options ${args[1]}: ${e}`);
  }
  return { mode, options };
}

/** Measures the phase that `body` runs; `body` returns the jobs it did and may set `extra` fields. */
export async function measure(body) {
  const extra = {};
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const marks = { start: undefined, cpuStart: undefined };
  // `begin()` lets a body move the start of the measured phase (e.g. to the first job).
  const begin = () => {
    marks.start = performance.now();
    marks.cpuStart = cpuSeconds();
  };
  const jobs = await body(extra, begin);
  const t1 = performance.now();
  const cpu1 = cpuSeconds();
  return {
    jobs,
    seconds: (t1 - (marks.start ?? t0)) / 1000,
    cpu: cpu1 - (marks.cpuStart ?? cpu0),
    ...extra,
  };
}

/**
 * Runs `work(options.warmup)` untimed, if the bench asked for a warm-up,
 * then measures `work(options.jobs)`: the JIT compiles the hot paths during
 * the warm-up, so the figures are of the steady state.
 * @param {(jobs: number) => Promise<void>} work
 */
export async function measured(work) {
  const { options } = parseArgs();
  if (options.warmup > 0) await work(options.warmup);
  return await measure(async () => {
    await work(options.jobs);
    return options.jobs;
  });
}

/**
 * The drain's clock, shared by the runners: the measured phase `begin`s at
 * the first job, or with a warm-up at the ACK of its last job. `job()` is
 * called as a job starts, `ack()` as its ACK is confirmed; `done` resolves
 * once all `total` jobs (warm-up and measured) are ACKed.
 * @param {() => void} begin
 */
export function drainClock(begin) {
  const { options } = parseArgs();
  const warmup = options.warmup ?? 0;
  const total = warmup + options.jobs;
  let acks = 0;
  let started = false;
  /** @type {() => void} */
  let finish = () => {};
  const done = new Promise((resolve) => (finish = () => resolve(undefined)));
  return {
    total,
    done,
    get acks() {
      return acks;
    },
    job() {
      if (warmup === 0 && !started) (started = true), begin();
    },
    ack() {
      if (++acks === warmup) begin();
      if (acks === total) finish();
    },
  };
}

/** Writes the result as the last line of stdout. */
export function report(result) {
  const line = JSON.stringify({ ...result, vmHwmKb: peakRssKb() });
  process.stdout.write(`${line}\n`);
}

/** Prints to stderr and exits non-zero. */
export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Claims tickets 1..n across concurrent loops: `claim()` is true while some are left. */
export function tickets(n) {
  let claimed = 0;
  return () => ++claimed <= n;
}

/** Runs `count` async loops at once and waits for all of them. */
export function loops(count, body) {
  return Promise.all(Array.from({ length: count }, (_, i) => body(i)));
}

/** The load tester's five queues (github.com/contribsys/faktory/test/load). */
export const LOAD_QUEUES = ["queue0", "queue1", "queue2", "queue3", "queue4"];

/** A random permutation (the load tester's shuffle). */
export function shuffle(list) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The load tester's randomQueue(). */
export function randomQueue() {
  return LOAD_QUEUES[Math.floor(Math.random() * LOAD_QUEUES.length)];
}

/** What a load-tester FAIL carries: Go's os.ErrClosed with errtype "unknown". */
export const LOAD_FAILURE = { errtype: "unknown", message: "file already closed", backtrace: [] };

/**
 * From the runs in results.json to what the report shows: the per-cell
 * summary (median and spread over the repeats) and issue 17's targets, each
 * with whether this run meets it. scripts/bench/render.ts draws them.
 *
 * A ratio between two clients is paired: taken within each repeat, where the
 * two ran minutes apart, then the median of those. A ratio of medians would
 * set one client's good repeat against the other's bad one: on a 2-core
 * machine beside its server a cell moves by 10-40 % between repeats, and the
 * clients of one repeat move together.
 *
 * @module
 */

import { CLIENT_IDS, type ClientId, type Results, RUNTIMES } from "./results.ts";

/** A median over the repeats, with the smallest and largest run. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The figures of one scenario and client, over its repetitions. */
export interface Cell {
  jobsPerSec?: Spread;
  cpuPer10k?: Spread;
  cpuSource?: "phase" | "process";
  /** Faktory + Redis CPU seconds per 10,000 jobs over the client's whole run. */
  serverCpuPer10k?: number;
  /** That CPU over the measured phase's seconds: 2 is both cores of this machine. */
  serverCores?: number;
  peakRssMb?: number;
  /** JavaScript heap in use after a forced full GC at the end (drain runs of this library). */
  liveHeapMb?: number;
  /** ms per connection (connect) or to the first job (first-job). */
  ms?: Spread;
  /** ms per 1000 hash iterations: the whole connect (library), the chain alone (floor). */
  msPer1000Iters?: Spread;
  /** The floor's hash chain alone, ms per connection. */
  hashMs?: Spread;
  /** The floor's whole connect + HELLO, ms per 1000 hash iterations: its own overhead on the chain. */
  connectMsPer1000Iters?: Spread;
  runs: number;
}

/** Scenario -> client -> its figures. */
export type Summary = Record<string, Partial<Record<ClientId, Cell>>>;

/** A ratio the library is held to (issue 17), and whether this run meets it. */
export interface Target {
  target: string;
  client: ClientId;
  /** The median over the repeats of the ratio within each (see pairedRatio). */
  value: number;
  /** The ratio's smallest and largest repeat, where it is paired. */
  min?: number;
  max?: number;
  required: string;
  /** Undefined for a row that is reported only. */
  holds?: boolean;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const spread = (values: number[], digits: number): Spread => ({
  median: round(median(values), digits),
  min: round(Math.min(...values), digits),
  max: round(Math.max(...values), digits),
});

export const PUSH_SCENARIOS = ["push-seq", "push-conc", "pushb-100", "pushb-1000"];
export const WORK_SCENARIOS = ["drain-1", "drain-10", "drain-50", "mixed"];
/** Bound by throughput, not by one round trip at a time. */
const BULK_PUSH = ["push-conc", "pushb-100", "pushb-1000"];
/** Most peak RSS at 1M jobs, MiB (issue 17). */
export const RSS_LIMIT_MB = 150;

function cellOf(mine: Results["runs"]): Cell {
  const cell: Cell = { runs: mine.length };
  const phase = mine.every((r) => r.cpu !== undefined);
  if (mine[0]!.jobs > 0) {
    cell.jobsPerSec = spread(mine.map((r) => r.jobsPerSec!), 0);
    cell.cpuPer10k = spread(
      mine.map((r) => ((phase ? r.cpu! : r.cpuProcess!) / r.jobs) * 10_000),
      3,
    );
    cell.cpuSource = phase ? "phase" : "process";
    if (mine.every((r) => typeof r.serverCpu === "number")) {
      // The server's CPU covers the whole run, the warm-up's jobs too.
      const served = (r: Results["runs"][number]) => r.jobs + (r.warmup ?? 0);
      const server = mine.map((r) => r.serverCpu as number);
      cell.serverCpuPer10k = round(
        median(server.map((c, i) => (c / served(mine[i]!)) * 10_000)),
        3,
      );
      cell.serverCores = round(
        median(server.map((c, i) => (c * mine[i]!.jobs) / served(mine[i]!) / mine[i]!.seconds)),
        2,
      );
    }
  }
  cell.peakRssMb = round(median(mine.map((r) => (r.peakRssKb ?? 0) / 1024)), 1);
  if (mine.every((r) => typeof r.liveHeapKb === "number")) {
    cell.liveHeapMb = round(median(mine.map((r) => (r.liveHeapKb as number) / 1024)), 1);
  }
  const ms = mine.flatMap((r) => r.ms ?? []);
  if (ms.length > 0) cell.ms = spread(ms, 1);
  const hashMs = mine.flatMap((r) => r.hashMs ?? []);
  if (hashMs.length > 0) cell.hashMs = spread(hashMs, 1);
  // Per 1000 iterations: the server draws 4000-8095 per connection, so raw ms vary by 2x.
  const per1000 = (of: (r: Results["runs"][number]) => number[] | undefined) =>
    mine.flatMap((r) => {
      const iters = r.iters ?? [];
      const base = of(r) ?? [];
      return iters.length === base.length ? base.map((m, i) => (m / iters[i]!) * 1000) : [];
    });
  const perIter = per1000((r) => r.hashMs ?? r.ms);
  if (perIter.length > 0) cell.msPer1000Iters = spread(perIter, 2);
  if (hashMs.length > 0) cell.connectMsPer1000Iters = spread(per1000((r) => r.ms), 2);
  return cell;
}

/**
 * What a ratio compares: jobs per second, client CPU per job, or a connect's
 * ms per 1000 hash iterations (the library's whole connect, the floor's hash
 * chain alone), the median of a run's connects.
 */
export type Figure = "rate" | "cpu" | "connect";

/**
 * `a`'s figure over `b`'s in each repeat where both ran `scenario`: the
 * median, smallest and largest of those ratios. CPU is per job, from the
 * measured phase or the whole process as each client's cell has it.
 */
export function pairedRatio(
  results: Results,
  summary: Summary,
  scenario: string,
  a: ClientId,
  b: ClientId,
  figure: Figure,
): Spread | undefined {
  const byRepeat = (client: ClientId) => {
    const phase = summary[scenario]?.[client]?.cpuSource === "phase";
    const value = (r: Results["runs"][number]) => {
      if (figure === "rate") return r.jobsPerSec;
      if (figure === "cpu") {
        return r.jobs > 0 ? (phase ? r.cpu : r.cpuProcess)! / r.jobs : undefined;
      }
      const ms = r.hashMs ?? r.ms ?? [];
      return r.iters?.length === ms.length && ms.length > 0
        ? median(ms.map((m, i) => (m / r.iters![i]!) * 1000))
        : undefined;
    };
    return new Map(
      results.runs.filter((r) => r.scenario === scenario && r.client === client)
        .map((r) => [r.repeat, value(r)]),
    );
  };
  const theirs = byRepeat(b);
  const ratios = [...byRepeat(a)].flatMap(([repeat, mine]) => {
    const other = theirs.get(repeat);
    return mine && other ? [mine / other] : [];
  });
  return ratios.length > 0 ? spread(ratios, 2) : undefined;
}

/** Medians and spreads per scenario and client, and the targets' ratios. */
export function summarize(results: Results): { summary: Summary; targets: Target[] } {
  const { runs } = results;
  const summary: Summary = {};
  for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
    summary[scenario] = {};
    for (const client of CLIENT_IDS) {
      const mine = runs.filter((r) => r.scenario === scenario && r.client === client);
      if (mine.length > 0) summary[scenario]![client] = cellOf(mine);
    }
  }
  return { summary, targets: targetsOf(results, summary) };
}

function targetsOf(results: Results, summary: Summary): Target[] {
  const targets: Target[] = [];
  // Memory, and the floor's connect against its own chain: medians of one client.
  const ratio = (a: number | undefined, b: number | undefined) =>
    a && b ? round(a / b, 2) : undefined;
  for (const { ours: id, floor } of RUNTIMES) {
    if (!(id in results.clients)) continue;
    const add = (target: string, value: number | undefined, op: ">=" | "<=" | "", limit = 0) => {
      if (value === undefined) return; // a client it needs was not in this run
      targets.push({
        target,
        client: id,
        value,
        required: op ? `${op} ${limit.toFixed(2)}` : "reported",
        ...(op ? { holds: op === ">=" ? value >= limit : value <= limit } : {}),
      });
    };
    /** A paired ratio as a target row, with its spread over the repeats. */
    const addPaired = (
      target: string,
      scenario: string,
      [a, b]: [ClientId, ClientId],
      figure: Figure,
      op: ">=" | "<=" | "",
      limit = 0,
    ) => {
      const r = pairedRatio(results, summary, scenario, a, b, figure);
      if (r === undefined) return;
      add(target, r.median, op, limit);
      if (results.repeat > 1) Object.assign(targets.at(-1)!, { min: r.min, max: r.max });
    };
    const has = (s: string) => summary[s]?.[id] !== undefined;
    for (const s of BULK_PUSH.filter(has)) {
      addPaired(`${s}: jobs/s vs Go`, s, [id, "go"], "rate", ">=", 1.0);
      addPaired(`${s}: jobs/s vs faktory-worker`, s, [id, "faktory-worker"], "rate", ">=", 1.1);
    }
    if (has("push-seq")) {
      addPaired("push-seq: jobs/s vs the floor", "push-seq", [id, floor], "rate", ">=", 0.95);
      addPaired(
        "push-seq: jobs/s vs faktory-worker",
        "push-seq",
        [id, "faktory-worker"],
        "rate",
        ">=",
        1.1,
      );
      addPaired("push-seq: jobs/s vs Go", "push-seq", [id, "go"], "rate", "");
    }
    for (const s of WORK_SCENARIOS.filter(has)) {
      addPaired(`${s}: jobs/s vs Go`, s, [id, "go"], "rate", ">=", 1.0);
    }
    for (const s of [...WORK_SCENARIOS, ...PUSH_SCENARIOS].filter(has)) {
      const limit = s.startsWith("push") ? 1.5 : 1.0;
      addPaired(`${s}: CPU per job vs Go`, s, [id, "go"], "cpu", "<=", limit);
    }
    for (const s of [...PUSH_SCENARIOS, ...WORK_SCENARIOS].filter(has)) {
      addPaired(`${s}: jobs/s, the floor's over the library's`, s, [floor, id], "rate", "<=", 1.15);
      addPaired(`${s}: CPU per job vs the floor`, s, [id, floor], "cpu", "<=", 1.15);
    }
    if (has("connect")) {
      addPaired(
        "connect: password connect + HELLO vs the hash chain alone",
        "connect",
        [id, floor],
        "connect",
        "<=",
        1.1,
      );
      // What the floor's own connect (TCP, greeting, HELLO) adds to the chain: one process.
      add(
        "connect: the floor's own connect + HELLO vs its hash chain",
        ratio(
          summary.connect?.[floor]?.connectMsPer1000Iters?.median,
          summary.connect?.[floor]?.msPer1000Iters?.median,
        ),
        "",
      );
    }
    const sizes = [results.sizes.rssSmall, results.sizes.rssLarge, results.sizes.rssLong]
      .filter((n) => summary[`rss-${n}`]?.[id]);
    if (sizes.length >= 2) {
      const [small, large] = [sizes[0]!, sizes.at(-1)!];
      const live = (n: number) => summary[`rss-${n}`]?.[id]?.liveHeapMb;
      add(
        `rss: live heap after GC, ${large.toLocaleString("en-US")} vs ${
          small.toLocaleString("en-US")
        } jobs`,
        ratio(live(large), live(small)),
        "<=",
        1.1,
      );
      const peak = summary[`rss-${large}`]?.[id]?.peakRssMb;
      const note = results.long ? "" : " (the target is at 1,000,000 jobs: --long)";
      if (peak !== undefined) {
        targets.push({
          target: `rss: peak RSS MiB at ${large.toLocaleString("en-US")} jobs${note}`,
          client: id,
          value: peak,
          required: `< ${RSS_LIMIT_MB}`,
          holds: peak < RSS_LIMIT_MB,
        });
      }
    }
  }
  return targets;
}

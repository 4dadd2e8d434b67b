/**
 * From the runs in results.json to what the report shows: the per-cell
 * summary (median and spread over the repeats) and issue 17's targets, each
 * with whether this run meets it. scripts/bench/render.ts draws them.
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
  value: number;
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
  const rate = (s: string, c: ClientId) => summary[s]?.[c]?.jobsPerSec?.median;
  const cpu = (s: string, c: ClientId) => summary[s]?.[c]?.cpuPer10k?.median;
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
    const has = (s: string) => summary[s]?.[id] !== undefined;
    for (const s of BULK_PUSH.filter(has)) {
      add(`${s}: jobs/s vs Go`, ratio(rate(s, id), rate(s, "go")), ">=", 1.0);
      add(
        `${s}: jobs/s vs faktory-worker`,
        ratio(rate(s, id), rate(s, "faktory-worker")),
        ">=",
        1.1,
      );
    }
    if (has("push-seq")) {
      add(
        "push-seq: jobs/s vs the floor",
        ratio(rate("push-seq", id), rate("push-seq", floor)),
        ">=",
        0.95,
      );
      add(
        "push-seq: jobs/s vs faktory-worker",
        ratio(rate("push-seq", id), rate("push-seq", "faktory-worker")),
        ">=",
        1.1,
      );
      add("push-seq: jobs/s vs Go", ratio(rate("push-seq", id), rate("push-seq", "go")), "");
    }
    for (const s of WORK_SCENARIOS.filter(has)) {
      add(`${s}: jobs/s vs Go`, ratio(rate(s, id), rate(s, "go")), ">=", 1.0);
    }
    for (const s of [...WORK_SCENARIOS, ...PUSH_SCENARIOS].filter(has)) {
      const limit = s.startsWith("push") ? 1.5 : 1.0;
      add(`${s}: CPU per job vs Go`, ratio(cpu(s, id), cpu(s, "go")), "<=", limit);
    }
    for (const s of [...PUSH_SCENARIOS, ...WORK_SCENARIOS].filter(has)) {
      add(
        `${s}: jobs/s, the floor's over the library's`,
        ratio(rate(s, floor), rate(s, id)),
        "<=",
        1.15,
      );
      add(`${s}: CPU per job vs the floor`, ratio(cpu(s, id), cpu(s, floor)), "<=", 1.15);
    }
    if (has("connect")) {
      const mine = summary.connect?.[id]?.msPer1000Iters?.median;
      const chain = summary.connect?.[floor]?.msPer1000Iters?.median;
      add(
        "connect: password connect + HELLO vs the hash chain alone",
        ratio(mine, chain),
        "<=",
        1.1,
      );
      // What the floor's own connect (TCP, greeting, HELLO) adds to the chain.
      add(
        "connect: the floor's own connect + HELLO vs its hash chain",
        ratio(summary.connect?.[floor]?.connectMsPer1000Iters?.median, chain),
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

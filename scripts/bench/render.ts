/**
 * The rendering half of `deno task bench`: from the runs in results.json, the
 * per-cell summary (medians), the targets' ratios, the Markdown report and
 * the SVG chart. `deno task bench --from FILE` renders an earlier run again.
 *
 * @module
 */

import {
  CLIENT_IDS,
  CLIENT_STYLE,
  type ClientId,
  type Results,
  type ScenarioId,
  scenarios as allScenarios,
  SEMI_SPACE_CAP,
} from "./results.ts";

/** The figures of one scenario and client, over its repetitions. */
export interface Cell {
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

/** Scenario -> client -> its figures. */
export type Summary = Record<string, Partial<Record<ClientId, Cell>>>;

/** A ratio the library is held to, and whether this run meets it. */
export interface Target {
  target: string;
  client: ClientId;
  value: number;
  required: string;
  holds: boolean;
}
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Medians per scenario and client, and the targets' ratios. */
export function summarize(results: Results): { summary: Summary; targets: Target[] } {
  const { runs } = results;
  const SIZE = results.sizes;
  const ourRuntimes = CLIENT_IDS.filter((id) => id.startsWith("ours-") && id in results.clients)
    .map((id) => ({ id }));
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
          cell.serverCpuPer10k = round(
            median(server.map((c, i) => (c / mine[i]!.jobs) * 10_000)),
            3,
          );
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

  return { summary, targets };
}

/** The clients of a run, in the usual order. */
const clientsOf = (results: Results) => CLIENT_IDS.filter((id) => id in results.clients);

/** The Markdown report: every table, the targets, the failed runs. */
export function renderMarkdown(results: Results, summary: Summary, targets: Target[]): string {
  const { quick, repeat, command, versions, failures } = results;
  const { loadBefore, loadAfter } = results.machine;
  const SIZE = results.sizes;
  const SCENARIOS = allScenarios(SIZE);
  const shown = clientsOf(results);
  const label = (id: ClientId) => CLIENT_STYLE[id].label;
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
    "one Redis round trip after another on one goroutine (Faktory server/commands.go, `pushBulk`).",
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
export function renderSvg(results: Results, summary: Summary): string {
  const { quick } = results;
  const SCENARIOS = allScenarios(results.sizes);
  const panels = SCENARIOS.filter((s) => s.mode !== "connect" && summary[s.id]);
  const shown = clientsOf(results).filter((id) =>
    panels.some((p) => summary[p.id]?.[id]?.jobsPerSec)
  )
    .map((id) => ({ id, ...CLIENT_STYLE[id] }));
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
    }: one ${esc(results.versions.faktory ?? "Faktory")}, ${esc(results.date.slice(0, 10))}</text>`,
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

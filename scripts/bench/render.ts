/**
 * The rendering half of `deno task bench`: the Markdown report and the SVG
 * chart, from results.json and its summary (scripts/bench/summary.ts).
 * `deno task bench --from FILE` renders an earlier run again.
 *
 * @module
 */

import {
  CLIENT_IDS,
  CLIENT_STYLE,
  type ClientId,
  type Results,
  RUNTIMES,
  type ScenarioId,
  scenarios as allScenarios,
} from "./results.ts";
import { type Figure, pairedRatio, type Spread, type Summary, type Target } from "./summary.ts";
import { methodNotes } from "./notes.ts";

/** Other load (cores) above which a run is not taken on a quiet machine. */
const OTHER_LOAD_LIMIT = 0.1;

/** The clients of a run, in the usual order. */
const clientsOf = (results: Results) => CLIENT_IDS.filter((id) => id in results.clients);

const fmt = (n: number, digits: number) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** `median (min-max)`, or the median alone for a single run. */
const showSpread = (x: Spread | undefined, digits: number) =>
  x === undefined
    ? undefined
    : x.min === x.max
    ? fmt(x.median, digits)
    : `${fmt(x.median, digits)} (${fmt(x.min, digits)}-${fmt(x.max, digits)})`;

/** The Markdown report: every table, the targets, the failed runs. */
export function renderMarkdown(results: Results, summary: Summary, targets: Target[]): string {
  const { quick, repeat, command, versions, failures } = results;
  const { loadBefore, loadAfter } = results.machine;
  const SIZE = results.sizes;
  const SCENARIOS = allScenarios(SIZE);
  const shown = clientsOf(results);
  const runtimes = RUNTIMES.filter((r) => r.ours in results.clients);
  const label = (id: ClientId) => CLIENT_STYLE[id].label;
  const lines: string[] = [];
  const table = (
    title: string,
    rows: string[],
    value: (s: string, c: ClientId) => string | undefined,
    rowTitle = (s: string) => results.scenarios[s as ScenarioId] ?? s,
    columns: readonly ClientId[] = shown,
    heading = (c: ClientId) => label(c),
  ) => {
    const present = rows.filter((s) => columns.some((c) => value(s, c) !== undefined));
    if (present.length === 0) return;
    lines.push(`### ${title}`, "");
    lines.push(`| | ${columns.map(heading).join(" | ")} |`);
    lines.push(`|---|${columns.map(() => "---:").join("|")}|`);
    for (const s of present) {
      lines.push(`| ${rowTitle(s)} | ${columns.map((c) => value(s, c) ?? "–").join(" | ")} |`);
    }
    lines.push("");
  };
  lines.push(`## Benchmark results${quick ? " (quick run: small sizes, not comparable)" : ""}`, "");
  lines.push(
    `\`${command}\`, ${results.date}${
      results.minutes === undefined ? "" : ` (took ${results.minutes} min)`
    }; ${results.machine.cpus} CPUs (${results.machine.model ?? "?"}),`,
  );
  lines.push(
    `load average ${loadBefore} before, ${loadAfter} after; ${
      repeat > 1 ? `median (min-max) of ${repeat} runs` : "one run"
    } per figure.`,
  );
  lines.push(
    `Server: **${versions.faktory}**. Deno ${
      versions.deno?.replace(/^deno /, "")
    }, Bun ${versions.bun}, Node ${versions.node}, ${versions.go}, ` +
      `faktory-worker ${versions["faktory-worker"]}; client and server share the machine.`,
    "",
  );
  const other = results.runs.map((r) => r.otherCores).filter((x) => typeof x === "number");
  if (other.length > 0) {
    const sorted = other.sort((a, b) => a - b);
    const mid = sorted[Math.floor(sorted.length / 2)]!;
    lines.push(
      `Other load during the runs (cores busy with neither the client nor the server): median ${
        mid.toFixed(2)
      }, max ${sorted.at(-1)!.toFixed(2)}${
        mid > OTHER_LOAD_LIMIT
          ? ` — **not a quiet machine**: above ${OTHER_LOAD_LIMIT}, CPU per job and its ratios move by tens of percent`
          : ""
      }.`,
      "",
    );
  }
  lines.push(
    `Sizes: push ${SIZE.push} jobs (PUSHB x 100: ${SIZE.push * 2}, x 1000: ${
      SIZE.push * 5
    }); drain ${SIZE.drain} ` +
      `preloaded jobs; mixed \`${SIZE.mixed} 10\`; connect ${SIZE.connect} sequential connections.`,
    "",
    ...(SIZE.warmup
      ? [
        `_Warm-up_: before the measured jobs of the push and drain scenarios, each client does`,
        `${SIZE.warmup} jobs of the same kind in the same process, untimed (the drain's are`,
        "preloaded too). V8 and JavaScriptCore compile the hot paths over the first thousands of",
        "jobs: without it, the JIT's work weighed on every JavaScript client's figures (Deno, 50",
        "concurrent pushes: 19.5 µs of CPU a job over 20,000 jobs, 15.8 over 100,000). The rows",
        "compare steady states, as a long-running producer or worker sees them; start-up is in",
        "the connect and time-to-first-job rows. The load tester (mixed) has no warm-up, so no",
        "client's mixed run has one.",
        "",
      ]
      : []),
    ...methodNotes(),
  );
  const jobScenarios = SCENARIOS.filter((s) => s.jobs > 0).map((s) => s.id);
  table(
    "Throughput (jobs/s, higher is better)",
    jobScenarios,
    (s, c) => showSpread(summary[s]?.[c]?.jobsPerSec, 0),
  );
  table("Client CPU seconds per 10,000 jobs (lower is better)", jobScenarios, (s, c) => {
    const x = summary[s]?.[c];
    const text = showSpread(x?.cpuPer10k, 2);
    return text === undefined ? undefined : `${text}${x?.cpuSource === "process" ? "*" : ""}`;
  });
  lines.push(
    "CPU is user + system time of the client process (all its threads) during the measured phase;",
    "`*` = whole process (the load tester cannot be instrumented; its start-up costs a few ms).",
    "",
  );
  const ratioCell = (s: string, c: ClientId, base: ClientId) => {
    const ratio = (figure: Figure) =>
      pairedRatio(results, summary, s, c, base, figure)?.median.toFixed(2) ?? "–";
    if (!summary[s]?.[c]?.jobsPerSec || !summary[s]?.[base]?.jobsPerSec) return undefined;
    return `${ratio("rate")} · ${ratio("cpu")}`;
  };
  table(
    "The library against its runtime's floor: jobs/s ratio · CPU per job ratio (median over the repeats of each repeat's ratio)",
    jobScenarios,
    (s, c) => ratioCell(s, c, RUNTIMES.find((r) => r.ours === c)!.floor),
    undefined,
    runtimes.map((r) => r.ours),
    (c) => RUNTIMES.find((r) => r.ours === c)!.name,
  );
  table(
    "Against Go: jobs/s ratio · CPU per job ratio (median over the repeats of each repeat's ratio)",
    jobScenarios,
    (s, c) => ratioCell(s, c, "go"),
    undefined,
    shown.filter((c) => c !== "go"),
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
    "how many cores the server kept busy.",
    "",
  );
  table("Peak RSS of the client process (MiB)", jobScenarios, (s, c) => {
    const v = summary[s]?.[c]?.peakRssMb;
    return v === undefined ? undefined : v.toFixed(0);
  });
  lines.push(
    "On Deno the runners read /proc through `Deno.readTextFileSync`: a Deno program that loads",
    "`node:fs` keeps its short-lived objects longer and peaks higher over its first 100,000 jobs",
    "(bench/profiles.md).",
    "",
  );
  table(
    "Password connect + HELLO (ms per connection: median (min-max))",
    ["connect", "hash", "per1000", "floor1000", "first-job"],
    (s, c) => {
      const x = s === "first-job" ? summary["first-job"]?.[c] : summary.connect?.[c];
      if (s === "hash") return showSpread(x?.hashMs, 1);
      if (s === "per1000") return showSpread(x?.msPer1000Iters, 2);
      if (s === "floor1000") return showSpread(x?.connectMsPer1000Iters, 2);
      return showSpread(x?.ms, 1);
    },
    (s) =>
      ({
        connect: "connect + HELLO",
        hash: "the Web Crypto hash chain alone (the floor)",
        per1000: "connect + HELLO (floor: hash chain) per 1000 iterations",
        floor1000: "the floor's own connect + HELLO per 1000 iterations",
        "first-job": "time to first job, worker at concurrency 10",
      })[s] ?? s,
  );
  lines.push(
    "Faktory asks for 4000-8095 SHA-256 iterations, a new draw per connection, so the",
    "handshake is compared with the chain per 1000 iterations (the library's iterations are",
    "counted by wrapping crypto.subtle.digest). Time to first job: from `new Worker` to the",
    "handler's call, a job already waiting, against the password-protected server.",
    "",
  );
  const rssRows = [SIZE.rssSmall, SIZE.rssLarge, SIZE.rssLong].map((n) => `rss-${n}`);
  table(
    "Memory: a worker draining N jobs at concurrency 10: peak RSS MiB / live heap after GC MiB (jobs/s)",
    rssRows,
    (s, c) => {
      const x = summary[s]?.[c];
      return x?.peakRssMb === undefined
        ? undefined
        : `${x.peakRssMb} / ${x.liveHeapMb ?? "–"} (${x.jobsPerSec?.median} jobs/s)`;
    },
    (s) => `${Number(s.slice(s.lastIndexOf("-") + 1)).toLocaleString("en-US")} jobs`,
    runtimes.map((r) => r.ours),
  );
  if (targets.length > 0) {
    const rows = [...new Set(targets.map((t) => t.target))];
    const columns = runtimes.map((r) => r.ours);
    lines.push(
      "### Targets (issue 17)",
      "",
      "A ratio between two clients is taken within each repeat, where they ran minutes apart (a",
      "connect's: the medians of its connections); the median over the repeats is judged, and",
      "(min-max) are its smallest and largest repeat. The memory rows compare one run of each size.",
      "",
      `| target | required | ${columns.map((c) => label(c)).join(" | ")} |`,
      `|---|---|${columns.map(() => "---:").join("|")}|`,
    );
    for (const row of rows) {
      const mine = targets.filter((t) => t.target === row);
      const cells = columns.map((c) => {
        const t = mine.find((x) => x.client === c);
        if (t === undefined) return "–";
        const digits = t.required.includes("<") && t.value >= 10 ? 0 : 2;
        const range = t.min === undefined ? "" : ` (${t.min.toFixed(2)}-${t.max!.toFixed(2)})`;
        const value = `${t.value.toFixed(digits)}${range}`;
        return t.holds === undefined ? value : `${value} ${t.holds ? "yes" : "**no**"}`;
      });
      lines.push(`| ${row} | ${mine[0]!.required} | ${cells.join(" | ")} |`);
    }
    const held = targets.filter((t) => t.holds === true).length;
    const judged = targets.filter((t) => t.holds !== undefined).length;
    lines.push("", `${held} of ${judged} target rows hold.`, "");
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
  const panels = SCENARIOS.filter((s) => s.jobs > 0 && summary[s.id]);
  const shown = clientsOf(results).filter((id) =>
    panels.some((p) => summary[p.id]?.[id]?.jobsPerSec?.median)
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
    const values = shown.map((c) => summary[p.id]?.[c.id]?.jobsPerSec?.median ?? 0);
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

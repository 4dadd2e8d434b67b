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
 *   connect  connect + HELLO against a password-protected server; the floor
 *            times the Web Crypto hash chain alone
 *   first-job  time from `new Worker` to the first handler call, password,
 *            concurrency 10, a job already waiting
 *   rss      peak RSS, and live heap after a forced GC, of a worker draining
 *            10,000 and 100,000 jobs (and 1,000,000 with --long)
 *
 * The floor clients (scripts/bench/floor.mjs) do each scenario with no
 * library, over the runtime's own socket: the library's overhead is its
 * ratio to them.
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
 * Measuring is scripts/bench/measure.ts, rendering scripts/bench/render.ts;
 * results.json (scripts/bench/results.ts) is the seam, which --from reads.
 *
 * Usage: deno task bench [-- options]
 *   --quick                small sizes, no RSS check: a smoke test (~1 min)
 *   --rss-check            only the memory check (10,000 and 100,000 jobs)
 *   --long                 only the memory check, up to 1,000,000 jobs (~10 min)
 *   --repeat N             run each measurement N times, report the median (default 1)
 *   --clients a,b          only these clients: ours-deno, ours-bun, ours-node, floor-deno,
 *                          floor-bun, floor-node, go, faktory-worker
 *   --scenarios a,b        only these: push-seq, push-conc, pushb-100, pushb-1000,
 *                          drain-1, drain-10, drain-50, mixed, connect, first-job, rss
 *   --out DIR              where to write the results
 *   --from FILE            render FILE (an earlier results.json) again, measure nothing
 *   --skip-build           reuse the last compile for Node (build/bench-npm/, from
 *                          tsconfig.npm.json) and the Go binaries in .cache/bin/
 *
 * @module
 */

import { bin, err, out, parseCommandLine, root, usageError } from "./shared.ts";
import { measure } from "./bench/measure.ts";
import { renderMarkdown, renderSvg } from "./bench/render.ts";
import { summarize } from "./bench/summary.ts";
import { CLIENT_IDS, type Results, SCENARIO_IDS } from "./bench/results.ts";

const usage = `usage: deno task bench [--quick] [--rss-check] [--long] [--repeat N] [--clients a,b]
                       [--scenarios a,b] [--out DIR] [--skip-build] [--from FILE]`;

const fail = (message: string) => usageError(usage, message);

const { values: opts } = parseCommandLine(usage, {
  options: {
    quick: { type: "boolean", default: false },
    "rss-check": { type: "boolean", default: false },
    long: { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
    clients: { type: "string", default: "" },
    scenarios: { type: "string", default: "" },
    out: { type: "string" },
    from: { type: "string" },
    "skip-build": { type: "boolean", default: false },
  },
});
/** A comma list of known names. */
function names(value: string, known: readonly string[]): Set<string> {
  const list = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of list) {
    if (!known.includes(name)) fail(`unknown name "${name}" (expected one of ${known.join(", ")})`);
  }
  return new Set(list);
}
const repeat = Number(opts.repeat);
if (!Number.isInteger(repeat) || repeat < 1) fail("--repeat must be a whole number, 1 or more");

Deno.chdir(root);
const results: Results = opts.from !== undefined
  ? JSON.parse(await Deno.readTextFile(opts.from))
  : await measure({
    quick: opts.quick,
    repeat,
    clients: names(opts.clients, CLIENT_IDS),
    scenarios: names(opts.scenarios, SCENARIO_IDS),
    rssOnly: opts["rss-check"],
    long: opts.long,
    skipBuild: opts["skip-build"],
    command: `deno task bench${Deno.args.length ? ` ${Deno.args.join(" ")}` : ""}`,
  });
const outDir = opts.out ??
  (opts.from !== undefined
    ? opts.from.replace(/\/?[^/]*$/, "") || "."
    : results.quick
    ? "build/bench"
    : "bench");

const { summary, targets } = summarize(results);
await Deno.mkdir(outDir, { recursive: true });
const written = ["results.json", "results.md", "jobs_per_sec.svg"].map((f) => `${outDir}/${f}`);
const { runs, failures, ...rest } = results;
await Deno.writeTextFile(
  written[0]!,
  `${JSON.stringify({ ...rest, summary, targets, failures, runs }, null, 2)}\n`,
);
await Deno.writeTextFile(written[1]!, renderMarkdown(results, summary, targets));
await Deno.writeTextFile(written[2]!, renderSvg(results, summary));
// In the repo's own style, so that `deno task check` (deno fmt --check) passes on bench/.
await new Deno.Command(`${bin}/deno`, { args: ["fmt", "--quiet", ...written], stderr: "null" })
  .output().catch(() => {});
out(`\n${await Deno.readTextFile(written[1]!)}`);
out(`bench: wrote ${written.join(", ")}`);
if (failures.length > 0) err(`bench: ${failures.length} run(s) failed`);
Deno.exit(failures.length > 0 ? 1 : 0); // also ends the signal listeners

/**
 * `deno task bench --quick` (scripts/bench.ts) runs end to end: every client
 * (this library on Deno, Bun and Node, the Go reference client, npm
 * faktory-worker) pushes, drains and runs the load tester's mixed workload
 * against a real server, and the results are written as JSON, Markdown and
 * SVG. A smoke test of the benchmark itself, not of its figures. The bench
 * starts every runtime itself, so scripts/test.ts runs this file in the Deno
 * pass only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runToEnd } from "./harness/child.ts";

test("deno task bench --quick runs every client and writes its results", async () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
  try {
    const scenarios = "push-seq,pushb-1000,drain-10,mixed,connect";
    const args = ["run", "-A", path.join(root, "scripts/bench.ts"), "--quick", "--skip-build"];
    await runToEnd(
      path.join(root, "node_modules/.bin/deno"),
      [...args, "--scenarios", scenarios, "--out", out],
      {},
      240_000, // a quick bench takes ~50 s alone; far longer beside the rest of the suite
    );
    const results = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8")) as {
      summary: Record<string, Record<string, { jobsPerSec?: number; connectMs?: unknown }>>;
      failures: unknown[];
    };
    assert.deepEqual(results.failures, []);
    for (const client of ["ours-deno", "ours-bun", "ours-node", "faktory-worker"]) {
      for (const scenario of ["push-seq", "pushb-1000", "drain-10", "mixed"]) {
        const rate = results.summary[scenario]?.[client]?.jobsPerSec;
        assert.ok(rate !== undefined && rate > 0, `${scenario} / ${client}: ${rate} jobs/s`);
      }
      assert.ok(results.summary.connect?.[client]?.connectMs, `connect / ${client}`);
    }
    const markdown = fs.readFileSync(path.join(out, "results.md"), "utf8");
    assert.match(markdown, /### Throughput \(jobs\/s/);
    const svg = fs.readFileSync(path.join(out, "jobs_per_sec.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

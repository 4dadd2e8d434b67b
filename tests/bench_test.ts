/**
 * `deno task bench --quick` (scripts/bench.ts) runs end to end: every client
 * (this library on Deno, Bun and Node, the raw floor client of each runtime,
 * the Go reference client, npm faktory-worker) pushes, drains and runs the
 * load tester's mixed workload against a real server, and the results are
 * written as JSON, Markdown and SVG. A smoke test of the benchmark itself, not of its figures. The bench
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
    const scenarios = "push-seq,pushb-1000,drain-10,mixed,connect,first-job";
    const args = ["run", "-A", path.join(root, "scripts/bench.ts"), "--quick", "--skip-build"];
    await runToEnd(
      path.join(root, "node_modules/.bin/deno"),
      [...args, "--scenarios", scenarios, "--out", out],
      {},
      300_000, // a quick bench takes ~70 s alone; far longer beside the rest of the suite
    );
    type Spread = { median: number; min: number; max: number };
    const results = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8")) as {
      summary: Record<
        string,
        Record<string, { jobsPerSec?: Spread; ms?: Spread; hashMs?: Spread }>
      >;
      targets: { target: string; client: string; value: number; holds?: boolean }[];
      failures: unknown[];
    };
    assert.deepEqual(results.failures, []);
    const jobClients = ["ours-deno", "ours-bun", "ours-node", "faktory-worker"];
    const floors = ["floor-deno", "floor-bun", "floor-node"];
    for (const client of [...jobClients, ...floors]) {
      for (const scenario of ["push-seq", "pushb-1000", "drain-10", "mixed"]) {
        const rate = results.summary[scenario]?.[client]?.jobsPerSec?.median;
        assert.ok(rate !== undefined && rate > 0, `${scenario} / ${client}: ${rate} jobs/s`);
      }
      assert.ok(results.summary.connect?.[client]?.ms, `connect / ${client}`);
    }
    for (const floor of floors) {
      assert.ok(results.summary.connect?.[floor]?.hashMs, `the hash chain alone / ${floor}`);
    }
    for (const ours of ["ours-deno", "ours-bun", "ours-node"]) {
      const ms = results.summary["first-job"]?.[ours]?.ms?.median;
      assert.ok(ms !== undefined && ms > 0, `first-job / ${ours}: ${ms} ms`);
      // Each runtime is held to its own floor and to Go, a yes/no per row.
      for (const target of ["push-seq: jobs/s vs the floor", "connect: password connect"]) {
        const row = results.targets.find((t) => t.client === ours && t.target.startsWith(target));
        assert.ok(row && row.value > 0 && typeof row.holds === "boolean", `${target} / ${ours}`);
      }
    }
    const markdown = fs.readFileSync(path.join(out, "results.md"), "utf8");
    assert.match(markdown, /### Throughput \(jobs\/s/);
    assert.match(markdown, /### The library against its runtime's floor/);
    assert.match(markdown, /\| push-seq: jobs\/s vs the floor +\| >= 0\.95 +\|/);
    // The prose wraps wherever its words fall (the CPU's name moves them).
    assert.match(markdown.replace(/\s+/g, " "), /Server: \*\*Faktory 1\.10\.0\*\*/);
    const svg = fs.readFileSync(path.join(out, "jobs_per_sec.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("the floor's RESP reader takes replies split anywhere (test double: replies cut at every byte)", async () => {
  // By path, not a static specifier: tsc (the Node pass compiles tests/) has no types for it.
  const floorSocket = new URL("../scripts/bench/floor_socket.mjs", import.meta.url).href;
  const { RawConn, ServerError } = await import(floorSocket);
  const wire = '+HI {"v":2}\r\n$-1\r\n$12\r\n{"jid":"ab"}\r\n:42\r\n-ERR nope\r\n$0\r\n\r\n+OK\r\n';
  const expected = ['HI {"v":2}', null, '{"jid":"ab"}', 42, "ERR nope", "", "OK"];
  const bytes = new TextEncoder().encode(wire);
  for (let cut = 1; cut < bytes.length; cut++) {
    const conn = new RawConn({ write: () => {}, close: () => {} });
    conn.received(bytes.slice(0, cut));
    conn.received(bytes.slice(cut));
    const got: unknown[] = [];
    for (let i = 0; i < expected.length; i++) {
      got.push(
        await conn.reply().catch((e: unknown) => {
          assert.ok(e instanceof ServerError);
          return (e as Error).message;
        }),
      );
    }
    assert.deepEqual(got, expected, `cut at byte ${cut}`);
  }
});

test("the bench's ratios are taken within each repeat, then their median", async () => {
  const summaryModule = new URL("../scripts/bench/summary.ts", import.meta.url).href;
  const { summarize } = await import(summaryModule);
  // The library trails its floor in every repeat, while the repeats move
  // together: the ratio of the two medians (200 / 160 = 1.25) would say it leads.
  const rates = { "ours-deno": [100, 300, 200], "floor-deno": [110, 330, 160] };
  const runs = Object.entries(rates).flatMap(([client, perRepeat]) =>
    perRepeat.map((jobsPerSec, repeat) => ({
      scenario: "push-seq",
      client,
      repeat,
      jobs: jobsPerSec,
      seconds: 1,
      cpu: jobsPerSec / 1000,
      jobsPerSec,
    }))
  );
  const results = {
    repeat: 3,
    sizes: {},
    clients: { "ours-deno": "faktory-ts, Deno", "floor-deno": "floor, Deno" },
    runs,
  };
  const { targets } = summarize(results) as {
    targets: { target: string; value: number; min?: number; max?: number; holds?: boolean }[];
  };
  const row = targets.find((t) => t.target === "push-seq: jobs/s vs the floor");
  assert.deepEqual(
    row && { value: row.value, min: row.min, max: row.max, holds: row.holds },
    { value: 0.91, min: 0.91, max: 1.25, holds: false },
  );
});

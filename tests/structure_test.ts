// The source's shape: `./testing` and `./otel` load no socket code, and no file in src/
// is too long to read. Reads the .ts sources, so it runs the same on every runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repo root: on Node this file runs from a compiled copy under build/node/tests. */
function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("no deno.json above this file");
  }
}

const root = repoRoot();

/**
 * The relative modules `file` loads when it runs: every static import and
 * re-export except `import type` / `export type` (erased by the compiler),
 * and dynamic imports.
 */
function loads(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith(".")).map((s) =>
    path.resolve(path.dirname(file), s)
  );
}

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(root, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...loads(file));
  }
  return new Set([...seen].map((f) => path.relative(root, f)));
}

/** The modules of `entry`'s graph that hold sockets, connections or runtime adapters. */
function socketCode(entry: string): string[] {
  return [...graph(entry)].filter((m) =>
    m.startsWith("src/runtime/") || m.startsWith("src/worker/") ||
    ["src/connection.ts", "src/client.ts", "src/reconnect.ts", "src/pool.ts", "src/producer.ts"]
      .includes(m)
  );
}

test("./testing loads no socket, connection or runtime code", () => {
  const modules = graph("src/testing.ts");
  assert.ok(modules.has("src/handlers.ts") && modules.has("src/payload.ts"), "the graph is read");
  assert.deepEqual(socketCode("src/testing.ts"), [], "modules ./testing must not load");
});

test("./otel loads no socket, connection or runtime code: it is middleware", () => {
  assert.ok(graph("src/otel.ts").has("src/otel/trace_context.ts"), "the graph is read");
  assert.deepEqual(socketCode("src/otel.ts"), [], "modules ./otel must not load");
});

test("the graph reader sees what mod.ts loads, sockets included", () => {
  const modules = graph("mod.ts");
  for (const m of ["src/connection.ts", "src/runtime/detect.ts", "src/worker/worker.ts"]) {
    assert.ok(modules.has(m), m);
  }
});

test("no file in src/ is over 450 lines", () => {
  const long: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts")) {
        const lines = fs.readFileSync(file, "utf8").split("\n").length - 1;
        if (lines > 450) long.push(`${path.relative(root, file)}: ${lines} lines`);
      }
    }
  };
  walk(path.join(root, "src"));
  assert.deepEqual(long, []);
});

// JSR (deno.json) and npm (npm/package.json, written by `deno task build:npm`)
// publish the same entry points, each built from the same source file.
// `deno task check:pack` checks the same on the packed tarball.
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

// Needs an npm/ as fresh as deno.json: scripts/test.ts runs this file in the
// Node pass only, the one sure to follow `deno task build:npm`.

test("deno.json and npm/package.json export the same entry points", () => {
  const root = repoRoot();
  const deno = JSON.parse(fs.readFileSync(path.join(root, "deno.json"), "utf8")) as {
    name: string;
    version: string;
    exports: Record<string, string>;
  };
  const npm = JSON.parse(fs.readFileSync(path.join(root, "npm", "package.json"), "utf8")) as {
    name: string;
    version: string;
    exports: Record<string, { types: string; default: string }>;
    bin?: Record<string, string>;
  };
  assert.equal(npm.name, deno.name);
  assert.equal(npm.version, deno.version);
  assert.deepEqual(Object.keys(npm.exports).sort(), Object.keys(deno.exports).sort());
  for (const [key, source] of Object.entries(deno.exports)) {
    const stem = source.replace(/^\.\//, "").replace(/\.ts$/, "");
    assert.deepEqual(npm.exports[key], {
      types: `./esm/${stem}.d.ts`,
      default: `./esm/${stem}.js`,
    }, `export "${key}"`);
    for (const file of Object.values(npm.exports[key]!)) {
      assert.ok(fs.existsSync(path.join(root, "npm", file)), `${file} was built`);
    }
  }
  assert.ok(deno.exports["./testing"], "the testing helpers are an entry point");
  if (deno.exports["./cli"]) assert.equal(npm.bin?.["faktory-ts"], npm.exports["./cli"]!.default);
});

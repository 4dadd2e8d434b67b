// Each runtime loads its own socket adapter and nothing of the others'.
// Statically, from esbuild's metafile: what `mod` imports, what each adapter
// imports, and what the ./cloudflare entry point bundles into (as wrangler
// bundles it). At run time, a child process imports `mod` and pushes a job
// under a loader that watches modules: on Deno an import map that makes every
// other adapter and every node:* built-in throw, on Bun a plugin that records
// (and refuses) source files, on Node module hooks that record every import.
// On Node all of it runs against the npm build.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { currentRuntime, runToEnd } from "./harness/child.ts";
import { startFaktory } from "./harness/faktory.ts";
import { bundle, type Metafile, repoRoot, WRANGLER_ARGS } from "./harness/workerd.ts";

// tests/ next to the sources, or build/node/tests/ next to links into npm/esm/.
const here = path.dirname(fileURLToPath(import.meta.url));
const base = path.resolve(here, "..");
const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
const ADAPTER = /src\/runtime\/(deno|bun|node|cloudflare)\.[jt]s$/;
const runtimeModule = (file: string) => /src\/runtime\/([^/]+)\.[jt]s$/.exec(file)?.[1];

/** The modules `from` reaches through static imports, and the externals they import. */
function closure(meta: Metafile, from: string) {
  const modules = new Set<string>([from]);
  const externals = new Set<string>();
  const dynamic = new Set<string>();
  for (const file of modules) {
    for (const { path: to, kind, external } of meta.inputs[file]?.imports ?? []) {
      if (external) externals.add(to);
      else if (kind === "dynamic-import") dynamic.add(to);
      else modules.add(to);
    }
  }
  return { modules: [...modules], externals: [...externals].sort(), dynamic: [...dynamic].sort() };
}

test("module graph (esbuild metafile): mod loads no adapter; each adapter only its own built-ins", async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "graph-"));
  try {
    const { metafile } = await bundle(path.join(base, `mod.${ext}`), path.join(dir, "mod.js"), [
      "--bundle",
      "--format=esm",
      "--platform=neutral",
      "--external:node:*",
      "--external:cloudflare:*",
    ]);
    const entry = Object.keys(metafile.inputs).find((f) => new RegExp(`mod\\.${ext}$`).test(f))!;
    const mod = closure(metafile, entry);
    assert.deepEqual(mod.modules.filter((f) => ADAPTER.test(f)), [], "mod imports no adapter");
    assert.deepEqual(mod.externals, [], "mod imports no built-in");
    assert.deepEqual(mod.dynamic.map(runtimeModule), ["bun", "deno", "node"]);
    const expected: Record<string, string[]> = {
      deno: [],
      bun: ["node:os", "node:process", "node:tls"],
      node: ["node:net", "node:os", "node:process", "node:tls"],
    };
    for (const adapter of mod.dynamic) {
      const name = runtimeModule(adapter)!;
      const graph = closure(metafile, adapter);
      assert.deepEqual(graph.modules.filter((f) => ADAPTER.test(f)), [adapter], name);
      assert.deepEqual(graph.externals, expected[name], `built-ins of the ${name} adapter`);
      // Deno's TLS runs on node:tls (Deno.startTls leaks a socket closed mid-handshake):
      // the Node adapter is imported for a tcp+tls connect only.
      const loads = name === "deno" ? ["node"] : [];
      assert.deepEqual(
        graph.dynamic.map(runtimeModule),
        loads,
        `what the ${name} adapter loads later`,
      );
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test("module graph: the ./cloudflare entry point bundles as wrangler does, importing only cloudflare:*", async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "graph-"));
  try {
    // From the sources; on Node from the npm build, through its package.json as a user's bundle would.
    let entry = path.join(base, "src", `cloudflare.${ext}`);
    if (ext === "js") {
      await fsp.mkdir(path.join(dir, "node_modules", "@faktory-ts"), { recursive: true });
      await fsp.symlink(
        path.join(repoRoot(), "npm"),
        path.join(dir, "node_modules", "@faktory-ts", "faktory"),
      );
      entry = path.join(dir, "entry.js");
      await fsp.writeFile(entry, 'export * from "@faktory-ts/faktory/cloudflare";\n');
    }
    const plain = await bundle(entry, path.join(dir, "cloudflare.js"));
    assert.deepEqual(plain.imports, ["cloudflare:sockets", "cloudflare:workers"]);
    const inputs = Object.keys(plain.metafile.inputs);
    assert.deepEqual(inputs.filter((f) => ADAPTER.test(f)).map(runtimeModule), ["cloudflare"]);
    assert.ok(!inputs.some((f) => /src\/runtime\/(detect|process)\./.test(f)));
    assert.ok(plain.code.includes("setDefaultRuntime({"), "the entry point's default survives");
    const minified = await bundle(entry, path.join(dir, "min.js"), [...WRANGLER_ARGS, "--minify"]);
    const kib = (n: number) => (n / 1024).toFixed(1);
    // deno-lint-ignore no-console
    console.log(
      `./cloudflare bundle: ${kib(plain.code.length)} KiB, ${kib(minified.code.length)} KiB ` +
        `minified, ${kib(gzipSync(minified.code, { level: 9 }).length)} KiB minified and gzipped`,
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test(`module graph (at run time): importing mod and pushing on ${currentRuntime()} loads only its adapter`, async () => {
  await using server = await startFaktory();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "graph-"));
  try {
    const fixture = path.join(here, "fixtures", `push_once.${ext}`);
    const log = path.join(dir, "loaded.log");
    const runtime = currentRuntime();
    let args: string[];
    const ownModules = ["default", "detect", "errors", runtime];
    if (runtime === "deno") {
      // Every other adapter and every node:* built-in throws if anything imports it.
      const refuse = (what: string) =>
        `data:text/javascript,throw new Error(${
          encodeURIComponent(JSON.stringify(`${what} was loaded`))
        })`;
      const imports: Record<string, string> = {};
      for (const name of builtinModules) imports[`node:${name}`] = refuse(`node:${name}`);
      for (const other of ["bun", "node", "cloudflare", "process"]) {
        const file = pathToFileURL(path.join(base, "src", "runtime", `${other}.ts`)).href;
        imports[file] = refuse(`src/runtime/${other}.ts`);
      }
      await fsp.writeFile(path.join(dir, "map.json"), JSON.stringify({ imports }));
      args = ["run", "-A", `--import-map=${path.join(dir, "map.json")}`, fixture, server.url];
    } else if (runtime === "bun") {
      await fsp.writeFile(
        path.join(dir, "watch.ts"),
        `import { plugin } from "bun";
import { appendFileSync, readFileSync } from "node:fs";
plugin({
  name: "module graph",
  setup(build) {
    build.onLoad({ filter: /\\/src\\/.*\\.ts$/ }, ({ path }) => {
      appendFileSync(${JSON.stringify(log)}, path + "\\n");
      return /src\\/runtime\\/(deno|node|cloudflare)\\.ts$/.test(path)
        ? { contents: "throw new Error(" + JSON.stringify(path + " was loaded") + ")", loader: "js" }
        : { contents: readFileSync(path, "utf8"), loader: "ts" };
    });
  },
});
`,
      );
      args = ["--preload", path.join(dir, "watch.ts"), fixture, server.url];
      ownModules.push("process", "chunk_queue");
    } else {
      await fsp.writeFile(
        path.join(dir, "hooks.mjs"),
        `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}
`,
      );
      await fsp.writeFile(
        path.join(dir, "register.mjs"),
        'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n',
      );
      args = ["--import", pathToFileURL(path.join(dir, "register.mjs")).href, fixture, server.url];
      ownModules.push("process", "chunk_queue");
    }
    const { lines } = await runToEnd(process.execPath, args);
    assert.match(lines.join("\n"), new RegExp(`^${runtime} pushed \\w+$`, "m"));
    if (runtime === "deno") return; // anything else would have thrown
    const loaded = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
    assert.deepEqual(
      [...new Set(loaded.map(runtimeModule).filter((m) => m !== undefined))].sort(),
      ownModules.sort(),
    );
    if (runtime === "node") {
      const builtins = [...new Set(loaded.filter((url) => url.startsWith("node:")))].sort();
      assert.deepEqual(builtins, ["node:net", "node:os", "node:process", "node:tls"]);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

/**
 * Builds the npm package into npm/ (`deno task build:npm`):
 *
 * 1. tsc -p tsconfig.npm.json: mod.ts + src/** + cli.ts + cli/** -> npm/esm/ (ESM .js + .d.ts)
 * 2. npm/package.json generated from deno.json (name, version, license, exports...)
 * 3. README.md / LICENSE copied
 * 4. publint and attw (--profile esm-only) must pass
 *
 * Every deno.json export (e.g. "./testing": "./src/testing.ts") becomes an npm
 * export with `types` and `default` conditions. The "./cli" export (cli.ts, the
 * command line) also becomes the package's `faktory-ts` bin. Every `npm:`
 * import of deno.json (`@opentelemetry/api`, for ./otel) becomes an optional
 * peer dependency: the library itself depends on nothing.
 *
 * @module
 */

import { bin, exists, root, toolPath } from "./shared.ts";

const outDir = `${root}/npm`;

// deno.json's lib has no `console`; write to the streams directly.
const encoder = new TextEncoder();
const log = (msg: string) => Deno.stdout.writeSync(encoder.encode(`build:npm: ${msg}\n`));

function fail(msg: string): never {
  Deno.stderr.writeSync(encoder.encode(`build:npm: error: ${msg}\n`));
  Deno.exit(1);
}

async function run(cmd: string, args: string[]): Promise<void> {
  log(`$ ${cmd.replace(`${bin}/`, "")} ${args.join(" ")}`);
  const env = { PATH: toolPath };
  const { code } = await new Deno.Command(cmd, { args, cwd: root, env }).spawn().status;
  if (code !== 0) fail(`${cmd.replace(`${bin}/`, "")} exited with code ${code}`);
}

interface DenoJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  exports?: string | Record<string, string>;
  imports?: Record<string, string>;
  // Optional npm metadata, passed through when present in deno.json.
  keywords?: string[];
  homepage?: string;
  repository?: unknown;
  bugs?: unknown;
  author?: unknown;
}

const denoJson = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)) as DenoJson;
const { name, version } = denoJson;
if (!name || !version) fail("deno.json needs `name` and `version`");
if (!denoJson.exports) fail("deno.json has no `exports`");
const denoExports = typeof denoJson.exports === "string"
  ? { ".": denoJson.exports }
  : denoJson.exports;

// "./src/testing.ts" -> "./esm/src/testing"; only what tsconfig.npm.json compiles
// (mod.ts, cli.ts and src/; cli/ holds the commands cli.ts loads, not entry points).
const npmExports: Record<string, { types: string; default: string }> = {};
for (const [key, target] of Object.entries(denoExports)) {
  const m = /^\.\/(.+)\.ts$/.exec(target);
  if (!m || !(m[1] === "mod" || m[1] === "cli" || m[1]!.startsWith("src/"))) {
    fail(
      `export "${key}": "${target}" must be ./mod.ts, ./cli.ts or ./src/**.ts (see tsconfig.npm.json)`,
    );
  }
  if (!(await exists(`${root}/${target}`))) fail(`export "${key}": ${target} does not exist`);
  npmExports[key] = { types: `./esm/${m[1]}.d.ts`, default: `./esm/${m[1]}.js` };
}

// "npm:@opentelemetry/api@^1.7.0" -> peer "@opentelemetry/api": "^1.7.0", optional.
const peers: Record<string, string> = {};
for (const [key, target] of Object.entries(denoJson.imports ?? {})) {
  if (!target.startsWith("npm:")) continue;
  const m = /^npm:(@?[^@]+)@(.+)$/.exec(target);
  if (!m || m[1] !== key) fail(`import "${key}": "${target}" must be npm:${key}@<range>`);
  peers[key] = m[2]!;
}

const started = performance.now();
await Deno.remove(outDir, { recursive: true }).catch((e) => {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
});

await run(`${bin}/tsc`, ["-p", "tsconfig.npm.json"]);

for (const [key, entry] of Object.entries(npmExports)) {
  for (const file of [entry.types, entry.default]) {
    if (!(await exists(`${outDir}/${file}`))) fail(`export "${key}": tsc did not emit ${file}`);
  }
}

const pkg: Record<string, unknown> = {
  name,
  version,
  ...(denoJson.description ? { description: denoJson.description } : {}),
  ...(denoJson.license ? { license: denoJson.license } : {}),
  ...(denoJson.keywords ? { keywords: denoJson.keywords } : {}),
  ...(denoJson.homepage ? { homepage: denoJson.homepage } : {}),
  ...(denoJson.repository ? { repository: denoJson.repository } : {}),
  ...(denoJson.bugs ? { bugs: denoJson.bugs } : {}),
  ...(denoJson.author ? { author: denoJson.author } : {}),
  type: "module",
  exports: npmExports,
  ...(npmExports["./cli"] ? { bin: { "faktory-ts": npmExports["./cli"].default } } : {}),
  // The CLI runs its command line when loaded, and the library's entry points
  // set the default runtime (a bundler must not skip them as mere re-exports);
  // every other module is side-effect free.
  sideEffects: ["./cli", ".", "./cloudflare"].flatMap((key) => npmExports[key]?.default ?? []),
  engines: { node: ">=20" },
  ...(Object.keys(peers).length > 0
    ? {
      peerDependencies: peers,
      peerDependenciesMeta: Object.fromEntries(
        Object.keys(peers).map((name) => [name, { optional: true }]),
      ),
    }
    : {}),
  files: ["esm"],
};
await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");

const copied: string[] = [];
for (const file of ["README.md", "LICENSE", "LICENSE.md"]) {
  if (await exists(`${root}/${file}`)) {
    await Deno.copyFile(`${root}/${file}`, `${outDir}/${file}`);
    copied.push(file);
  }
}

// publint exits non-zero on errors (warnings and suggestions are printed only).
await run(`${bin}/publint`, ["run", "npm"]);
// attw's report is long even when all is well: run it quietly, and again with
// the report only if it found problems.
const attwArgs = ["--pack", "npm", "--profile", "esm-only"];
log(`$ attw ${attwArgs.join(" ")}`);
const attw = await new Deno.Command(`${bin}/attw`, { args: [...attwArgs, "--quiet"], cwd: root })
  .output();
if (attw.code !== 0) await run(`${bin}/attw`, [...attwArgs, "--format", "ascii"]);
if (attw.code !== 0) fail(`attw exited with code ${attw.code}`);
log("attw: no problems (esm-only profile)");

let files = 0;
let bytes = 0;
async function walk(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) await walk(`${dir}/${e.name}`);
    else {
      files++;
      bytes += (await Deno.stat(`${dir}/${e.name}`)).size;
    }
  }
}
await walk(outDir);

log(`built ${name}@${version} in npm/ (${((performance.now() - started) / 1000).toFixed(1)}s)`);
log(`  exports: ${Object.keys(npmExports).join(", ")}`);
log(
  `  ${files} files, ${(bytes / 1024).toFixed(1)} KiB${
    copied.length ? `; copied ${copied.join(", ")}` : ""
  }`,
);
log(`  publish with: cd npm && npm publish`);

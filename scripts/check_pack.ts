/**
 * Checks the npm package as a user gets it (`deno task check:pack`):
 *
 * 1. `deno task build:npm` (skip with --skip-build), then `npm pack` of npm/;
 * 2. the export maps: deno.json's (JSR) and the packed package.json's (npm)
 *    name the same entry points, each the same source file, and `./cli` is
 *    also the `faktory-ts` bin;
 * 3. Node: a fresh project in a temp dir, `npm install --offline <tarball>`
 *    (a local file with no dependencies: no network), a TypeScript file
 *    type-checked against the installed types, then small producer,
 *    consumer and testing .mjs files importing the package by name, and the
 *    bin (`npx --no-install faktory-ts info --json`, and `push` then `work`
 *    on a handler module until SIGTERM), all run against a real Faktory
 *    started by the test harness;
 *    then, with `@opentelemetry/api` (the optional peer of `./otel`) installed
 *    from this repo's node_modules, a file that runs a job through `./otel`;
 * 4. Bun: the same with `bun add <tarball>` in another fresh project, run by
 *    `bun`, the bin by `bunx --bun faktory-ts` (skip with --skip-bun).
 *
 * Usage: deno task check:pack [--skip-build] [--skip-bun] [--keep]
 *
 * @module
 */

import { startFaktory } from "../tests/harness/faktory.ts";
import { bin, root, toolPath } from "./shared.ts";

const args = new Set(Deno.args);
for (const arg of args) {
  if (!["--skip-build", "--skip-bun", "--keep"].includes(arg)) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `check:pack: unknown option ${arg}\nusage: deno task check:pack [--skip-build] [--skip-bun] [--keep]\n`,
      ),
    );
    Deno.exit(2);
  }
}

// deno.json's lib has no `console`; write to the streams directly.
const encoder = new TextEncoder();
const log = (msg: string) => Deno.stdout.writeSync(encoder.encode(`check:pack: ${msg}\n`));

class CheckFailed extends Error {}
function check(ok: unknown, msg: string): asserts ok {
  if (!ok) throw new CheckFailed(msg);
}

const PATH = toolPath;

/** Runs a command to its end (at most `seconds`); throws with its output if it fails. */
async function run(
  cmd: string,
  cmdArgs: string[],
  options: { cwd?: string; env?: Record<string, string>; seconds?: number } = {},
): Promise<string> {
  const cwd = options.cwd ?? root;
  log(
    `$ ${[cmd.replace(`${bin}/`, ""), ...cmdArgs].join(" ")}${cwd === root ? "" : `  (in ${cwd})`}`,
  );
  const output = await new Deno.Command(cmd, {
    args: cmdArgs,
    cwd,
    env: { PATH, NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((options.seconds ?? 120) * 1000),
  }).output();
  const out = new TextDecoder().decode(output.stdout);
  const err = new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new CheckFailed(
      `${cmd} ${
        cmdArgs.join(" ")
      } exited with ${output.code}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`,
    );
  }
  return out;
}

// ---- 1. build and pack -----------------------------------------------------------

if (!args.has("--skip-build")) await run(`${bin}/deno`, ["task", "build:npm"], { seconds: 300 });
const work = await Deno.makeTempDir({ prefix: "faktory-pack-" });
let failed = false;
const server = await startFaktory();
try {
  const packed = JSON.parse(
    await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: `${root}/npm` }),
  ) as { filename: string; files: { path: string }[] }[];
  const tarball = `${work}/${packed[0]!.filename.replace(/^@/, "").replace(/\//, "-")}`;
  await Deno.stat(tarball);
  log(`packed ${tarball} (${packed[0]!.files.length} files)`);

  // ---- 2. same entry points on JSR and npm ---------------------------------------
  const denoJson = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)) as {
    name: string;
    exports: Record<string, string>;
  };
  const npmJson = JSON.parse(await Deno.readTextFile(`${root}/npm/package.json`)) as {
    name: string;
    exports: Record<string, { types: string; default: string }>;
    bin?: Record<string, string>;
  };
  const name = denoJson.name;
  check(npmJson.name === name, `npm name ${npmJson.name} is not deno.json's ${name}`);
  const jsrKeys = Object.keys(denoJson.exports).sort();
  const npmKeys = Object.keys(npmJson.exports).sort();
  check(
    JSON.stringify(jsrKeys) === JSON.stringify(npmKeys),
    `export maps differ: deno.json ${jsrKeys.join(", ")} / npm ${npmKeys.join(", ")}`,
  );
  for (const key of jsrKeys) {
    const source = denoJson.exports[key]!.replace(/^\.\//, "").replace(/\.ts$/, "");
    const target = npmJson.exports[key]!;
    check(
      target.default === `./esm/${source}.js` && target.types === `./esm/${source}.d.ts`,
      `export "${key}": npm ${JSON.stringify(target)} is not built from ${denoJson.exports[key]}`,
    );
    check(
      packed[0]!.files.some((f) => f.path === target.default.slice(2)),
      `export "${key}": ${target.default} is not in the tarball`,
    );
  }
  if (denoJson.exports["./cli"]) {
    check(npmJson.bin?.["faktory-ts"] === npmJson.exports["./cli"]!.default, "no faktory-ts bin");
  }
  log(`exports match: ${jsrKeys.join(", ")}`);

  // ---- the user's files ----------------------------------------------------------
  const files: Record<string, string> = {
    "producer.mjs": `import { defineJob, Producer } from "${name}";
const Check = defineJob("PackCheck", { queue: process.env.QUEUE });
const producer = await Producer.connect({ poolSize: 1 }); // no \`await using\` in Node 20's JS
try {
  const jids = await producer.performBulk(Check, [["a"], ["b"]]);
  jids.push(await producer.perform(Check, ["c"]));
  console.log(JSON.stringify(jids));
} finally {
  await producer.close();
}
`,
    "consumer.mjs": `import { silentLogger, Worker } from "${name}";
const seen = [];
const worker = new Worker({ queues: [process.env.QUEUE], concurrency: 2, logger: silentLogger });
worker.register("PackCheck", (job, { signal, wid }) => {
  if (!(signal instanceof AbortSignal) || wid !== worker.wid) throw new Error("bad context");
  seen.push(job.args[0]);
  if (seen.length === 3) void worker.stop();
});
worker.on("failure", (job, error) => console.error("failed", job.jid, error));
await worker.run();
console.log(JSON.stringify(seen.sort()));
`,
    "handlers.mjs":
      `// The module the bin's \`work\` runs: its default export registers the handlers.
export default function (registry) {
  registry.register("PackCheck", (job) => console.log(\`worked \${job.args[0]}\`));
}
`,
    "testing.mjs": `import { defineJob } from "${name}";
import { fake, inline } from "${name}/testing";
const Greet = defineJob("Greet");
const seen = [];
const jobs = fake().register(Greet, (job) => void seen.push(job.args[0]));
await jobs.perform(Greet, ["fake"]);
if (jobs.jobsOf(Greet).length !== 1) throw new Error("fake did not keep the job");
await jobs.drain();
const now = inline().register(Greet, (job) => void seen.push(job.args[0]));
await now.perform(Greet, ["inline"]);
console.log(JSON.stringify(seen));
`,
    "otel.mjs": `import { defineJob } from "${name}";
import { jobTelemetry, pushTelemetry } from "${name}/otel";
import { inline } from "${name}/testing";
const Traced = defineJob("Traced");
const jobs = inline({ middleware: [pushTelemetry()], jobMiddleware: [jobTelemetry()] });
let ran = false;
await jobs.register(Traced, () => void (ran = true)).perform(Traced, []);
console.log(JSON.stringify(ran));
`,
    "typed.ts": `import { defineJob, type JobPusher, Producer, Worker } from "${name}";
import { fake, type TestProducer } from "${name}/testing";
const Send = defineJob<[to: string]>("Send");
export async function send(jobs: JobPusher): Promise<string> {
  return await jobs.perform(Send, ["ada@example.com"]);
}
export const test: TestProducer = fake().register(Send, (job) => void job.args[0].toUpperCase());
export const types = [Producer, Worker];
// @ts-expect-error: the arguments are checked against the job type
export const wrong = (jobs: JobPusher) => jobs.perform(Send, [42]);
`,
    "tsconfig.json": JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ["typed.ts"],
    }),
  };

  /** A fresh project with the tarball installed; `install` adds it. */
  const project = async (dir: string, install: (dir: string) => Promise<unknown>) => {
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify({ name: "pack-check", private: true, type: "module" }, null, 2),
    );
    await install(dir);
    for (const [file, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${file}`, text);
    }
  };

  /**
   * Pushes a job with the bin, works it with `faktory-ts work handlers.mjs`,
   * then stops the worker with SIGTERM: it must exit 0 with its summary. The
   * worker runs as a deployment runs it: npx exits on SIGTERM without passing
   * it on (npm 11), so on Node the bin is run itself.
   */
  const workOnce = async (
    label: string,
    dir: string,
    cliBin: string[],
    env: Record<string, string>,
  ) => {
    const [cmd, ...pre] = cliBin as [string, ...string[]];
    await run(cmd, [...pre, "push", "PackCheck", '["w"]', "--queue", env.QUEUE!], {
      cwd: dir,
      env,
    });
    log(
      `$ ${cmd.replace(`${bin}/`, "")} ${
        pre.join(" ")
      } work ./handlers.mjs -q ${env.QUEUE}  (in ${dir})`,
    );
    const child = new Deno.Command(cmd, {
      args: [...pre, "work", "./handlers.mjs", "-q", env.QUEUE!, "-c", "2"],
      cwd: dir,
      env: { PATH, NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let out = "";
    // kill() throws once the process is gone; a throw in a timer would end this
    // script before its finally stops the server.
    const kill = (signal: Deno.Signal) => {
      try {
        child.kill(signal);
      } catch { /* it has exited */ }
    };
    // A grandchild may hold stdout open: the timeout also stops reading.
    const reading = new AbortController();
    const timer = setTimeout(() => {
      kill("SIGKILL");
      reading.abort();
    }, 60_000);
    try {
      const text = child.stdout.pipeThrough(new TextDecoderStream(), { signal: reading.signal });
      for await (const chunk of text) {
        out += chunk;
        if (out.includes("worked w")) kill("SIGTERM");
      }
    } catch (e) {
      if (!reading.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
    }
    const { code } = await child.status;
    const err = await stderr;
    check(
      out.includes("worked w") && code === 0 && /1 job\(s\) processed, 0 failed/.test(err),
      `${label}: work exited ${code} having printed\n${out}\n--- stderr ---\n${err}`,
    );
  };

  /** Runs the user's files with `runtime` (node or bun) against the server. */
  const exercise = async (
    label: string,
    dir: string,
    runtime: string,
    cliBin: string[],
    workBin = cliBin,
  ) => {
    const env = { FAKTORY_URL: server.url, QUEUE: `pack-${label}` };
    const jids = JSON.parse(await run(runtime, ["producer.mjs"], { cwd: dir, env })) as string[];
    check(jids.length === 3, `${label}: the producer pushed ${jids.length} jobs`);
    const info = JSON.parse(
      await run(cliBin[0]!, [...cliBin.slice(1), "info", "--json"], {
        cwd: dir,
        env,
      }),
    ) as { faktory: { queues: Record<string, number> } };
    check(
      info.faktory.queues[env.QUEUE] === 3,
      `${label}: the bin's info shows ${info.faktory.queues[env.QUEUE]} jobs in ${env.QUEUE}`,
    );
    const seen = await run(runtime, ["consumer.mjs"], { cwd: dir, env, seconds: 60 });
    check(seen.trim() === '["a","b","c"]', `${label}: the consumer saw ${seen.trim()}`);
    await workOnce(label, dir, workBin, env);
    const tested = await run(runtime, ["testing.mjs"], { cwd: dir, env });
    check(tested.trim() === '["fake","inline"]', `${label}: testing helpers gave ${tested.trim()}`);
    log(
      `${label}: producer, consumer, testing helpers and the faktory-ts bin (push, info, work) work`,
    );
  };

  // ---- 3. Node -------------------------------------------------------------------
  const nodeDir = `${work}/node-project`;
  await project(
    nodeDir,
    (dir) => run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: dir }),
  );
  const nodeVersion = (await run("node", ["--version"])).trim();
  await run(`${bin}/tsc`, ["-p", "tsconfig.json"], { cwd: nodeDir });
  log("node: typed.ts type-checks against the installed .d.ts files");
  await exercise(`node-${nodeVersion}`, nodeDir, "node", ["npx", "--no-install", "faktory-ts"], [
    `${nodeDir}/node_modules/.bin/faktory-ts`,
  ]);
  const api = `${root}/node_modules/@opentelemetry/api`;
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", api], { cwd: nodeDir });
  const traced = await run("node", ["otel.mjs"], { cwd: nodeDir });
  check(traced.trim() === "true", `node: a job through ./otel gave ${traced.trim()}`);
  log("node: ./otel runs with its optional peer @opentelemetry/api installed");

  // ---- 4. Bun --------------------------------------------------------------------
  if (!args.has("--skip-bun")) {
    const bunDir = `${work}/bun-project`;
    await project(bunDir, (dir) => run(`${bin}/bun`, ["add", tarball], { cwd: dir }));
    const bunVersion = (await run(`${bin}/bun`, ["--version"])).trim();
    await exercise(`bun-${bunVersion}`, bunDir, `${bin}/bun`, [
      `${bin}/bunx`,
      "--bun",
      "faktory-ts",
    ]);
  }
  log("ok");
} catch (e) {
  failed = true;
  Deno.stderr.writeSync(
    encoder.encode(`check:pack: FAILED: ${e instanceof Error ? e.message : e}\n`),
  );
  if (!(e instanceof CheckFailed) && e instanceof Error && e.stack) {
    Deno.stderr.writeSync(encoder.encode(`${e.stack}\n`));
  }
} finally {
  await server.stop();
  if (args.has("--keep")) log(`kept ${work}`);
  else await Deno.remove(work, { recursive: true });
}
Deno.exit(failed ? 1 : 0);

/**
 * Test harness for the edge: bundles a Worker with esbuild the way wrangler
 * does, and runs it in workerd from npm (`node_modules/.bin/workerd`) with a
 * generated config whose outbound network reaches the test's loopback
 * servers. Uses only `node:` builtins, like the rest of the harness.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { until } from "./until.ts";

/** The repo root: on Node this file runs from a compiled copy under build/, so walk up. */
export function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("harness: no deno.json above this file");
  }
}

const bin = (name: string) => path.join(repoRoot(), "node_modules", ".bin", name);

/** What esbuild's metafile says about a bundle (the parts the tests read). */
export interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { bytes: number; imports: { path: string; kind: string }[] }>;
}

/** A bundle written to disk, with its metafile. */
export interface Bundle {
  readonly file: string;
  readonly code: string;
  readonly metafile: Metafile;
  /** Every module the bundle itself imports (what workerd must provide), sorted. */
  readonly imports: readonly string[];
}

/**
 * esbuild's settings for a Worker, as wrangler bundles one without
 * `nodejs_compat`: one ESM file for a neutral platform, with the
 * `workerd`/`worker`/`browser` export conditions, and only `cloudflare:*`
 * left to the runtime: a `node:*` import fails the build.
 */
export const WRANGLER_ARGS: readonly string[] = [
  "--bundle",
  "--format=esm",
  "--platform=neutral",
  "--target=es2022",
  "--conditions=workerd,worker,browser",
  "--main-fields=browser,module,main",
  "--external:cloudflare:*",
];

/** Bundles `entry` into `outfile` with esbuild: wrangler's settings unless `args` are given. */
export async function bundle(
  entry: string,
  outfile: string,
  args: readonly string[] = WRANGLER_ARGS,
): Promise<Bundle> {
  const meta = `${outfile}.meta.json`;
  await new Promise<void>((resolve, reject) =>
    execFile(
      bin("esbuild"),
      [entry, ...args, `--outfile=${outfile}`, `--metafile=${meta}`, "--log-level=error"],
      { cwd: repoRoot() },
      (
        err,
        _out,
        stderr,
      ) => (err ? reject(new Error(`esbuild ${entry} failed:\n${stderr}`)) : resolve()),
    )
  );
  const metafile = JSON.parse(await fsp.readFile(meta, "utf8")) as Metafile;
  const imports = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const i of output.imports) imports.add(i.path);
  }
  return {
    file: outfile,
    code: await fsp.readFile(outfile, "utf8"),
    metafile,
    imports: [...imports].sort(),
  };
}

/** How to run a Worker. */
export interface WorkerdOptions {
  /** The bundled Worker (one ES module). */
  readonly script: string;
  /** Text bindings: the Worker's vars and secrets, e.g. `FAKTORY_URL`. */
  readonly bindings?: Readonly<Record<string, string>>;
  /** PEM certificates the outbound network trusts besides the public CAs (workerd config only). */
  readonly trustedCertificates?: readonly string[];
}

/** A running workerd; `await using` stops it. */
export interface Workerd extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, served by the Worker. */
  readonly url: string;
  /** The workerd process id, e.g. to read its CPU time from /proc. */
  readonly pid: number;
  /** Everything workerd wrote to stderr and stdout so far. */
  log(): string;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the config dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const capnpText = (text: string) => JSON.stringify(text); // a capnp Text literal is a JSON string

/**
 * The config: the Worker on an HTTP socket, its `globalOutbound` a network
 * service that also allows private and local addresses (the default one
 * allows public addresses only) and speaks TLS, no compatibility flags.
 */
function config(options: WorkerdOptions, port: number): string {
  const bindings = Object.entries(options.bindings ?? {})
    .map(([name, value]) => `(name = ${capnpText(name)}, text = ${capnpText(value)})`);
  // Without tlsOptions, workerd's network service refuses TLS altogether ("no TLS configuration").
  const trusted = (options.trustedCertificates ?? []).map(capnpText).join(", ");
  const tls = `tlsOptions = (trustBrowserCas = true, trustedCertificates = [${trusted}])`;
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"], ${tls})),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-06-01",
  bindings = [${bindings.join(", ")}],
  globalOutbound = "internet",
);
`;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => resolve(true)).once("error", () => resolve(false));
    socket.once("close", () => socket.destroy()).end();
  });
}

/** Starts workerd with the Worker and waits until it listens. */
export async function startWorkerd(options: WorkerdOptions): Promise<Workerd> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "workerd-"));
  await fsp.copyFile(options.script, path.join(dir, "worker.js"));
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    await fsp.writeFile(path.join(dir, "config.capnp"), config(options, port));
    const child = spawn(bin("workerd"), ["serve", "config.capnp"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(child);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let running = true;
    void exited.then(() => (running = false));
    const stop = async () => {
      if (running) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
    };
    const url = `http://127.0.0.1:${port}`;
    try {
      // A TCP connect, not a request: the Worker sees only the test's requests.
      await until(
        () => {
          if (!running) throw new Error(`workerd exited:\n${output}`);
          return listening(port);
        },
        15_000,
        "workerd listening",
      );
    } catch (e) {
      await stop();
      if (attempt < 3 && /Address already in use/i.test(output)) continue;
      await fsp.rm(dir, { recursive: true, force: true });
      throw e;
    }
    let stopped: Promise<void> | undefined;
    const workerd: Workerd = {
      url,
      pid: child.pid!,
      log: () => output,
      stop: () => stopped ??= stop().then(() => fsp.rm(dir, { recursive: true, force: true })),
      [Symbol.asyncDispose]: () => workerd.stop(),
    };
    return workerd;
  }
}

/** CPU time (user + system) of a Linux process so far, in ms, from /proc/PID/stat. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at ")"; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * Test harness: starts real, isolated Faktory servers (each with its own port,
 * data dir and Redis) for the integration tests. Uses only `node:` builtins so
 * the same file runs on Deno, Bun and Node (compiled by tsc).
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";

/** How to start a server. */
export interface ServerOptions {
  /** Require this password (sent to the server as `FAKTORY_PASSWORD`). */
  password?: string;
  /** Speak TLS only, with a fresh self-signed certificate for `localhost`. */
  tls?: boolean;
  /** Serve the web UI (off by default), e.g. to quiet or terminate workers. */
  web?: boolean;
}

/** A running Faktory server; `await using` stops it and removes its data. */
export interface FaktoryServer extends AsyncDisposable {
  /** The server's version, e.g. "1.10.0", as its binary reports it (`faktory -v`). */
  readonly version: string;
  /** "127.0.0.1", or "localhost" with TLS so the certificate's name verifies. */
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  /** e.g. `tcp://127.0.0.1:PORT`, `tcp://:pw@127.0.0.1:PORT`, `tcp+tls://localhost:PORT`. */
  readonly url: string;
  /** PEM of the self-signed certificate to trust (TLS only). */
  readonly caCert: string | undefined;
  /** `http://127.0.0.1:PORT` of the web UI, when started with `web: true`. */
  readonly webUrl: string | undefined;
  /** Its temp dir: `db/` (Redis data and socket), `conf/`, `faktory.log`. */
  readonly dir: string;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash); keeps the dir and port for {@linkcode restart}. */
  kill(): Promise<void>;
  /** Start again (after stopping it if running) on the same port and data. */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves true if `promise` settled within `ms`; never leaves a timer behind. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir !== "" && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** The repo root: on Node this file runs from a compiled copy under build/, so walk up. */
function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url));; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "deno.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("harness: no deno.json above this file");
  }
}

function findBinary(root: string): string | undefined {
  const env = process.env["FAKTORY_BIN"];
  if (env) {
    if (!isExecutable(env)) throw new Error(`FAKTORY_BIN=${env} is not an executable file`);
    return env;
  }
  const cached = path.join(root, ".cache", "bin", "faktory");
  return isExecutable(cached) ? cached : onPath("faktory");
}

/** Runs scripts/install_deps.sh under a mkdir lock, as parallel test processes may all get here. */
async function installDeps(root: string): Promise<void> {
  const lock = path.join(root, ".cache", "install.lock");
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EEXIST") throw e;
    }
    // A lock this old was left by a killed run (an install takes well under a minute).
    try {
      if (Date.now() - fs.statSync(lock).mtimeMs > 5 * 60_000) fs.rmdirSync(lock);
    } catch { /* gone already */ }
    await sleep(500);
  }
  try {
    if (findBinary(root) !== undefined && onPath("redis-server") !== undefined) return;
    const script = path.join(root, "scripts", "install_deps.sh");
    const child = spawn("bash", [script], { stdio: ["ignore", "inherit", "inherit"] });
    const code = await new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", resolve);
    });
    if (code !== 0) throw new Error(`${script} failed (exit ${code})`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

let binary: Promise<string> | undefined;
let version: Promise<string> | undefined;

/**
 * Path of the faktory binary (`FAKTORY_BIN`, else .cache/bin/faktory, else
 * PATH); installs it (and redis-server) on first use if missing.
 */
export function faktoryBinary(): Promise<string> {
  binary ??= (async () => {
    const root = repoRoot();
    let bin = findBinary(root);
    if (bin === undefined || onPath("redis-server") === undefined) {
      await installDeps(root);
      bin = findBinary(root);
    }
    if (bin === undefined) throw new Error("faktory not found after scripts/install_deps.sh");
    // Faktory runs `redis-server` from PATH itself.
    if (onPath("redis-server") === undefined) throw new Error("redis-server is not on PATH");
    return bin;
  })();
  binary.catch(() => (binary = undefined)); // let a later call retry
  return binary;
}

/**
 * The version of {@linkcode faktoryBinary}, e.g. "1.10.0". With
 * `FAKTORY_EXPECT_VERSION` set (scripts/test.ts sets it for each pass), a
 * binary of another version is refused, so a pass cannot run against the
 * wrong server without failing.
 */
export function faktoryVersion(): Promise<string> {
  version ??= (async () => {
    const bin = await faktoryBinary();
    const output = await new Promise<string>((resolve, reject) =>
      execFile(bin, ["-v"], (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} -v failed: ${err.message}`));
        else resolve(stdout + stderr);
      })
    );
    const found = /^Faktory (\d+\.\d+\.\d+)/m.exec(output)?.[1];
    if (found === undefined) throw new Error(`${bin} -v printed no version: ${output}`);
    const expected = process.env["FAKTORY_EXPECT_VERSION"];
    if (expected && expected !== found) {
      throw new Error(`${bin} is Faktory ${found}, but FAKTORY_EXPECT_VERSION is ${expected}`);
    }
    return found;
  })();
  version.catch(() => (version = undefined));
  return version;
}

/** Whether `version` ("1.10.0") is `min` or later. */
export function atLeast(version: string, min: string): boolean {
  const a = version.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

// Last resort so that no server outlives the test process. SIGKILL is enough:
// Faktory starts its Redis with a parent-death signal (SIGTERM) on Linux.
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * A free port for a server, picked at random below the kernel's ephemeral
 * range (32768+). Ports the kernel hands out for `listen(0)` favour ones
 * freed moments ago, so with test files running in parallel, a server
 * killed to test an outage could find its port taken by another test's
 * server, and its clients talking to that one.
 */
async function freePort(host: string): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/**
 * A self-signed end-entity certificate (CA:FALSE): Deno's rustls rejects a
 * CA:TRUE certificate used as the server's own ("CaUsedAsEndEntity"), which
 * is what plain `openssl req -x509` makes. Node and Bun accept both. Our own
 * config keeps the result independent of the system's openssl.cnf.
 */
async function makeCert(confDir: string): Promise<string> {
  const config = path.join(confDir, "openssl.cnf");
  const cert = path.join(confDir, "public.cert.pem"); // the names Faktory looks for
  await fsp.writeFile(
    config,
    `[req]
prompt = no
distinguished_name = dn
x509_extensions = ext
[dn]
CN = localhost
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
`,
  );
  const args = ["req", "-x509", "-config", config, "-newkey", "rsa:2048", "-nodes", "-days", "2"];
  args.push("-keyout", path.join(confDir, "private.key.pem"), "-out", cert);
  await new Promise<void>((resolve, reject) =>
    execFile("openssl", args, (err, _out, stderr) => {
      if (err) reject(new Error(`openssl failed: ${err.message}\n${stderr}`));
      else resolve();
    })
  );
  return await fsp.readFile(cert, "utf8");
}

/** Reads the first line the server sends (the `+HI` greeting), then hangs up. */
function greeting(host: string, port: number, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = ca === undefined
      ? net.connect({ host, port })
      : tls.connect({ host, port, ca, servername: host });
    let buffer = "";
    socket.setEncoding("utf8");
    socket.setTimeout(2_000, () => socket.destroy(new Error("no greeting within 2 s")));
    socket.on("data", (chunk: string) => {
      buffer += chunk; // over TLS the greeting can arrive in two records
      const end = buffer.indexOf("\r\n");
      if (end >= 0) {
        resolve(buffer.slice(0, end));
        socket.destroy();
      }
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("closed before the greeting")));
  });
}

/** Resolves once nothing accepts on the Redis socket, i.e. Faktory's Redis has exited. */
async function redisGone(socketPath: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const alive = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ path: socketPath });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (!alive) return;
    await sleep(50);
  }
  throw new Error(`Redis at ${socketPath} still running 10 s after Faktory exited`);
}

class Server implements FaktoryServer {
  readonly url: string;
  readonly webUrl: string | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly bin: string,
    readonly version: string,
    readonly dir: string,
    readonly host: string,
    private readonly bindHost: string,
    readonly port: number,
    readonly password: string | undefined,
    readonly caCert: string | undefined,
    private readonly webPort: number | undefined,
  ) {
    this.webUrl = webPort === undefined ? undefined : `http://127.0.0.1:${webPort}`;
    const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
    this.url = `tcp${caCert === undefined ? "" : "+tls"}://${auth}${host}:${port}`;
  }

  get #log(): string {
    return path.join(this.dir, "faktory.log");
  }

  #running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null &&
      this.#child.signalCode === null;
  }

  /** Spawns Faktory and waits for its `+HI`; on failure the error carries the log tail. */
  async launch(): Promise<void> {
    const env = { ...process.env };
    // Only our settings: the server reads these from its environment.
    for (
      const name of ["FAKTORY_PASSWORD", "FAKTORY_ENV", "FAKTORY_SKIP_PASSWORD", "FAKTORY2_PREVIEW"]
    ) {
      delete env[name];
    }
    if (this.password !== undefined) {
      // Faktory reads a value starting with "/" as a file name holding the password.
      const file = path.join(this.dir, "conf", "password");
      if (this.password.startsWith("/")) await fsp.writeFile(file, this.password);
      env["FAKTORY_PASSWORD"] = this.password.startsWith("/") ? file : this.password;
    }
    const bind = this.bindHost.includes(":") ? `[${this.bindHost}]` : this.bindHost;
    const web = this.webPort === undefined ? ":0" : `127.0.0.1:${this.webPort}`;
    const args = ["-e", "development", "-b", `${bind}:${this.port}`, "-w", web];
    args.push("-d", path.join(this.dir, "db"), "-c", path.join(this.dir, "conf"), "-l", "warn");
    const log = fs.openSync(this.#log, "a");
    let child: ChildProcess;
    try {
      child = spawn(this.bin, args, { env, stdio: ["ignore", log, log] });
    } finally {
      fs.closeSync(log);
    }
    this.#child = child;
    live.add(child);
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", () => resolve()); // spawn failed: no 'exit' follows
    }).then(() => void live.delete(child));
    child.unref(); // a forgotten server must not keep the test process alive

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: unknown = "no attempt";
    while (Date.now() < deadline && this.#running()) {
      try {
        const line = await greeting(this.host, this.port, this.caCert);
        if (line.startsWith("+HI")) return;
        last = `unexpected greeting ${JSON.stringify(line)}`;
      } catch (e) {
        last = e;
      }
      await sleep(50);
    }
    const why = this.#running()
      ? `not ready after ${READY_TIMEOUT_MS / 1000} s`
      : `exited (${child.exitCode ?? child.signalCode})`;
    await this.#terminate();
    throw new Error(`faktory on port ${this.port} ${why} (last: ${last})\n${this.logTail()}`);
  }

  /** The last lines of the server's log, for error messages. */
  logTail(lines = 20): string {
    try {
      const text = fs.readFileSync(this.#log, "utf8").trimEnd().split("\n");
      return `--- ${this.#log} ---\n${text.slice(-lines).join("\n")}`;
    } catch {
      return `(no ${this.#log})`;
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL after the grace time) and waits for its Redis. */
  async #terminate(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (this.#running()) {
      this.#child?.kill(signal);
      if (!(await settlesWithin(this.#exited, STOP_GRACE_MS))) {
        this.#child?.kill("SIGKILL");
        await this.#exited;
      }
    }
    await this.#exited;
    // After a SIGKILL, Redis gets SIGTERM and still saves its data: wait, so
    // a restart does not find the old one and the dir can be removed safely.
    await redisGone(path.join(this.dir, "db", "redis.sock"));
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#terminate().finally(() =>
      fsp.rm(this.dir, { recursive: true, force: true })
    );
    return this.#stopping;
  }

  kill(): Promise<void> {
    return this.#terminate("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.#stopping !== undefined) throw new Error("restart() after stop()");
    await this.#terminate();
    await this.launch();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * The loopback address a client connecting to "localhost" tries first (Deno
 * uses only that one), so the TLS server binds there instead of all interfaces.
 */
async function localhostAddress(): Promise<string> {
  try {
    return (await lookup("localhost")).address;
  } catch {
    return "127.0.0.1";
  }
}

/** Starts an isolated server on a free port and waits until it greets. */
export async function startFaktory(options: ServerOptions = {}): Promise<FaktoryServer> {
  const bin = await faktoryBinary();
  const version = await faktoryVersion();
  const host = options.tls ? "localhost" : "127.0.0.1";
  const bindHost = options.tls ? await localhostAddress() : "127.0.0.1";
  // The port is free when picked but may be taken before Faktory binds it: retry.
  for (let attempt = 1;; attempt++) {
    // Short dir: Redis' Unix socket lives in it and socket paths max out at ~104 bytes.
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "fk-"));
    await fsp.mkdir(path.join(dir, "conf"));
    const caCert = options.tls ? await makeCert(path.join(dir, "conf")) : undefined;
    const port = await freePort(bindHost);
    const webPort = options.web ? await freePort("127.0.0.1") : undefined;
    const server = new Server(
      bin,
      version,
      dir,
      host,
      bindHost,
      port,
      options.password,
      caCert,
      webPort,
    );
    try {
      await server.launch();
      return server;
    } catch (e) {
      const portTaken = server.logTail().includes("address already in use");
      await server.stop();
      if (!portTaken || attempt >= 3) throw e;
    }
  }
}

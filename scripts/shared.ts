/**
 * Helpers shared by the scripts (test runner, bench, npm build and pack
 * check): where things are, output, running commands, and which Faktory
 * each pinned Go module builds.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** The repository root. */
export const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(
  /\/$/,
  "",
);
/** The dev tools installed by `npm ci`: deno, bun, tsc, publint, attw. */
export const bin = `${root}/node_modules/.bin`;
/** Where scripts/install_deps.sh puts the Faktory builds (and the bench's Go programs). */
export const cacheBin = `${root}/.cache/bin`;
/** PATH with the dev tools first. */
export const toolPath = `${bin}:${Deno.env.get("PATH") ?? ""}`;

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

// deno.json's lib has no `console`: write to the streams directly.
/** Writes a line to stdout. */
export const out = (line = "") => writeAll(Deno.stdout, encoder.encode(`${line}\n`));
/** Writes a line to stderr. */
export const err = (line: string) => writeAll(Deno.stderr, encoder.encode(`${line}\n`));
/** Writes raw bytes to stdout. */
export const outBytes = (bytes: Uint8Array) => writeAll(Deno.stdout, bytes);

/** Whether a file or directory exists (a dangling symlink counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Seconds since `since` (a `performance.now()`), e.g. "12.3s". */
export function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

/** The load averages of the last 1, 5 and 15 minutes ("" where /proc is missing). */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3)
    .join(" ");
}

/** Runs a command with inherited stdio (dev tools first on PATH); resolves with its exit code. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<number> {
  out(`$ ${[cmd.replace(`${bin}/`, ""), ...args].join(" ")}`);
  try {
    const child = new Deno.Command(cmd, {
      args: [...args],
      cwd: options.cwd ?? root,
      env: { PATH: toolPath, ...options.env },
    }).spawn();
    return (await child.status).code;
  } catch (e) {
    err(`cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
    return 127;
  }
}

/** Runs a command to its end; resolves with stdout and stderr, rejects if it fails. */
export async function capture(cmd: string, args: readonly string[], cwd = root): Promise<string> {
  const r = await new Deno.Command(cmd, { args: [...args], cwd, stdout: "piped", stderr: "piped" })
    .output()
    .catch((e) => ({ success: false, stdout: new Uint8Array(), stderr: encoder.encode(`${e}`) }));
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text.trim();
}

/** A Faktory binary and its version, e.g. "1.10.0". */
export interface FaktoryPin {
  readonly version: string;
  readonly binary: string;
}

/**
 * The Faktory pinned in `scripts/<dir>/go.mod` and where scripts/install_deps.sh
 * builds it: scripts/faktory (the default server) into .cache/bin/faktory,
 * scripts/faktory-X.Y.Z (compatibility) into .cache/bin/faktory-X.Y.Z.
 */
export async function faktoryPin(dir: string): Promise<FaktoryPin> {
  const goMod = await Deno.readTextFile(`${root}/scripts/${dir}/go.mod`);
  const version = /^require github\.com\/contribsys\/faktory v(\S+)$/m.exec(goMod)?.[1];
  if (version === undefined) throw new Error(`scripts/${dir}/go.mod pins no Faktory`);
  const binary = `${cacheBin}/${dir === "faktory" ? "faktory" : `faktory-${version}`}`;
  return { version, binary };
}

/** What a Faktory binary says it is (`faktory -v` prints "Faktory 1.10.0"). */
export async function faktoryVersion(binary: string): Promise<string> {
  const text = await capture(binary, ["-v"]);
  const version = /^Faktory (\S+)/m.exec(text)?.[1];
  if (version === undefined) throw new Error(`${binary} -v printed no version:\n${text}`);
  return version;
}

/** Prints `usage` after the error and exits 2 (bad usage). */
export function usageError(usage: string, message: string): never {
  err(`error: ${message}\n${usage}`);
  Deno.exit(2);
}

/**
 * The script's arguments, parsed by `node:util` `parseArgs` with `config`
 * (`args` is Deno.args without a `--`). `-h`/`--help` prints `usage` and
 * exits 0; a bad option prints it and exits 2.
 */
export function parseCommandLine<T extends Omit<ParseArgsConfig, "args">>(
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  const args = Deno.args.filter((a) => a !== "--");
  if (args.includes("-h") || args.includes("--help")) {
    out(usage);
    Deno.exit(0);
  }
  try {
    return parseArgs({ ...config, args }) as ReturnType<typeof parseArgs<T>>;
  } catch (e) {
    usageError(usage, e instanceof Error ? e.message : String(e));
  }
}

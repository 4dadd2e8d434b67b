/**
 * Test harness: runs scripts as child processes, on the test's own runtime or
 * on a given executable, and follows their output line by line. Uses only
 * `node:` builtins so the same file runs on Deno, Bun and Node (compiled by
 * tsc into build/node/tests/harness/).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The runtime this test process runs on. */
export function currentRuntime(): "deno" | "bun" | "node" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/**
 * The command that runs one of the repo's TypeScript files (a path from the
 * repo root, e.g. `examples/producer.ts`) on the current runtime: `deno run
 * -A x.ts`, `bun run x.ts`, or, on Node, `node x.js` with the tsc-compiled copy
 * beside this compiled harness (build/node/...), which imports the npm build.
 */
export function runtimeCommand(file: string): [command: string, args: string[]] {
  // This file is tests/harness/child.ts, or build/node/tests/harness/child.js on Node.
  const base = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  switch (currentRuntime()) {
    case "deno":
      return [process.execPath, ["run", "-A", path.join(base, file)]];
    case "bun":
      return [process.execPath, ["run", path.join(base, file)]];
    case "node": {
      const js = path.join(base, file.replace(/\.ts$/, ".js"));
      if (!fs.existsSync(js)) throw new Error(`${js} is missing: was it compiled by tsc?`);
      return [process.execPath, [js]];
    }
  }
}

/** A path under tests/fixtures/ as it is on disk for this run (copied to build/node on Node). */
export function fixturePath(name: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", name);
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** A running child process whose stdout is read line by line. */
export interface Child extends AsyncDisposable {
  readonly process: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: readonly string[];
  /** All of stderr so far. */
  readonly stderr: () => string;
  /** The command line, stdout and stderr so far, for assertion messages. */
  readonly output: () => string;
  /** Settles when the process has exited and its output is read. */
  readonly exited: Promise<Exit>;
  /**
   * Sends a signal with `process.kill(pid)`. Not `ChildProcess.kill`: after
   * that, Deno (2.9) reports the exit as killed by the signal (code null)
   * even when the child caught it and exited 0 by itself.
   */
  signal(signal: "SIGTERM" | "SIGINT" | "SIGTSTP"): void;
  /** Resolves with the lines once `check(lines)` holds; rejects on timeout or exit first. */
  waitFor(check: (lines: readonly string[]) => boolean, ms?: number): Promise<readonly string[]>;
  /** SIGKILLs it if still running and waits (up to 5 s) for the exit. Idempotent. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Spawns `command args` without inheriting stdio (stdin ignored, stdout and
 * stderr piped), so the test runner never waits on its streams.
 */
export function startChild(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Child {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) {
    if (v !== undefined) fullEnv[k] = v;
  }
  const child = spawn(command, [...args], { env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    lines.push(...parts.map((l) => l.replace(/\r$/, "")));
    notify();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => void (stderr += chunk));
  const stdoutDone = new Promise<void>((resolve) => child.stdout!.once("close", resolve));
  const stderrDone = new Promise<void>((resolve) => child.stderr!.once("close", resolve));
  let ended = false;
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      Promise.all([stdoutDone, stderrDone]).then(() => {
        if (partial !== "") lines.push(partial);
        partial = "";
        ended = true;
        notify();
        resolve({ code, signal });
      });
    });
  });
  exited.catch(() => {
    ended = true;
    notify();
  });
  const output = () =>
    [`\n$ ${[command, ...args].join(" ")}`, "--- stdout ---", ...lines, "--- stderr ---", stderr]
      .join("\n");
  return {
    process: child,
    lines,
    stderr: () => stderr,
    output,
    exited,
    signal(signal) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, signal);
      }
    },
    waitFor(check, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`Condition not met within ${ms} ms: ${output()}`));
        }, ms);
        function test() {
          if (check(lines)) {
            clearTimeout(timer);
            waiters.delete(test);
            resolve(lines);
          } else if (ended) {
            clearTimeout(timer);
            waiters.delete(test);
            reject(new Error(`The process exited first: ${output()}`));
          }
        }
        waiters.add(test);
        test();
      });
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      // Bounded: a grandchild that kept the output pipes open must not hang the test.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        exited.catch(() => {}),
        new Promise((resolve) => (timer = setTimeout(resolve, 5_000))),
      ]);
      clearTimeout(timer);
    },
  };
}

/** Resolves with the exit, or SIGKILLs the child and rejects if it takes longer than `ms`. */
export async function exitWithin(child: Child, ms: number): Promise<Exit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, ms, "timeout")));
  try {
    const result = await Promise.race([child.exited, timeout]);
    if (result !== "timeout") return result;
  } finally {
    clearTimeout(timer);
  }
  await child[Symbol.asyncDispose]();
  throw new Error(`The process did not exit within ${ms} ms (killed)${child.output()}`);
}

/** Runs a command to the end; rejects if it exits non-zero or takes longer than `ms`. */
export async function runToEnd(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  ms = 30_000,
): Promise<{ lines: readonly string[]; stderr: string }> {
  const child = startChild(command, args, env);
  const exit = await exitWithin(child, ms);
  if (exit.code !== 0) {
    throw new Error(`Exited with ${exit.code ?? exit.signal}${child.output()}`);
  }
  return { lines: child.lines, stderr: child.stderr() };
}

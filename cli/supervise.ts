/**
 * `faktory-ts work --processes N`: N worker processes of this runtime, each
 * the same command line with its own worker id, restarted with backoff when
 * one crashes; signals go to every one of them.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import type { Parsed } from "./args.ts";
import type { CliLogger } from "./log.ts";
import { duration } from "./output.ts";
import type { WorkSettings } from "./work.ts";

/** Set in a worker process's environment to its supervisor's pid. */
export const SUPERVISOR_VARIABLE = "FAKTORY_TS_SUPERVISOR";

/** A crashed process waits 1 s, then twice as long after each crash in a row, at most 30 s. */
const FIRST_RESTART_MS = 1_000;
const LAST_RESTART_MS = 30_000;
/** A process that ran this long before it crashed starts again from the first wait. */
const STEADY_MS = 60_000;

const HELP_POINTER = /^Run '.*--help' for usage\.$/;

type Signal = "SIGTERM" | "SIGINT" | "SIGTSTP" | "SIGTTIN";

/** One of the N places a worker process runs in. */
interface Slot {
  readonly n: number;
  readonly wid: string;
  child?: ChildProcess | undefined;
  started: number;
  crashes: number;
  restart?: ReturnType<typeof setTimeout> | undefined;
  /** The last line its process wrote to stderr. */
  lastLine: string;
}

/** `deno 2.9.6`, `bun 1.4.5`, `node 20.20.2`. */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.deno) return `deno ${versions.deno}`;
  if (versions.bun) return `bun ${versions.bun}`;
  return `node ${versions.node}`;
}

/**
 * The command that runs this CLI again on this runtime: the same executable
 * with the same runtime options and entry point. Node and Bun list their
 * options in `execArgv`; Deno does not, so its command line is read back from
 * /proc, and elsewhere it is `deno run -A` on the main module.
 */
function selfCommand(args: readonly string[]): string[] {
  const deno = (globalThis as { Deno?: { mainModule: string } }).Deno;
  if (deno === undefined) return [process.execPath, ...process.execArgv, process.argv[1]!];
  try {
    const line = readFileSync("/proc/self/cmdline", "utf8").split("\0").slice(0, -1);
    const tail = line.slice(line.length - args.length);
    if (line.length > args.length && tail.every((arg, i) => arg === args[i])) {
      return [process.execPath, ...line.slice(1, line.length - args.length)];
    }
  } catch {
    // No /proc (macOS): the fallback below.
  }
  return [process.execPath, "run", "-A", deno.mainModule];
}

/**
 * The arguments of worker process `wid`: those given, without `--processes`
 * and `--wid`, and with `--wid` set right after the command's name.
 */
function childArgs({ args, tokens }: Parsed, wid: string): string[] {
  const drop = new Set<number>();
  let command = -1;
  for (const token of tokens) {
    if (token.kind === "positional" && command < 0) command = token.index;
    if (token.kind === "option" && (token.name === "processes" || token.name === "wid")) {
      drop.add(token.index);
      if (token.value !== undefined && !token.inlineValue) drop.add(token.index + 1);
    }
  }
  const kept = args.filter((_, i) => !drop.has(i));
  const at = command < 0 ? 0 : args.slice(0, command + 1).filter((_, i) => !drop.has(i)).length;
  return [...kept.slice(0, at), "--wid", wid, ...kept.slice(at)];
}

/**
 * Runs `s.processes` worker processes until a signal stops them; resolves
 * with the exit code: 0 if every one stopped cleanly, 2 if one found bad
 * usage (a module that cannot be loaded: restarting would not help), else 1.
 */
export function supervise(parsed: Parsed, s: WorkSettings, log: CliLogger): Promise<number> {
  const count = s.processes!;
  const base = s.worker.wid;
  const command = selfCommand(parsed.args);
  const slots: Slot[] = Array.from(
    { length: count },
    (_, i) => ({ n: i + 1, wid: `${base}-${i + 1}`, started: 0, crashes: 0, lastLine: "" }),
  );
  const startedAt = Date.now();
  let stopping = false;
  let quiet = false;
  let restarts = 0;
  let code = 0;
  log.info(
    `Supervising ${count} worker process(es) on ${runtimeName()}: wids ${base}-1 to ${base}-${count}, ` +
      `concurrency ${s.worker.concurrency ?? 10} each, server ${s.server}`,
  );

  return new Promise<number>((resolve) => {
    const signals: [Signal, () => void][] = [
      ["SIGTERM", () => stop("SIGTERM")],
      ["SIGINT", () => stop("SIGINT")],
      ["SIGTSTP", () => {
        quiet = true;
        cancelRestarts();
        log.info("SIGTSTP: the worker processes go quiet; none is restarted from now on");
        forward("SIGTSTP");
      }],
      ["SIGTTIN", () => forward("SIGTTIN")],
    ];
    for (const [signal, handler] of signals) process.on(signal, handler);

    const finish = () => {
      if (slots.some((slot) => slot.child || slot.restart)) return;
      for (const [signal, handler] of signals) process.off(signal, handler);
      log.info(
        `All worker processes stopped after ${duration((Date.now() - startedAt) / 1000)}` +
          ` (${restarts} restart(s))`,
      );
      resolve(code);
    };

    function forward(signal: Signal): void {
      for (const { child } of slots) {
        if (child?.pid === undefined) continue;
        try {
          process.kill(child.pid, signal);
        } catch {
          // It has just exited: its exit is on its way.
        }
      }
    }

    function cancelRestarts(): void {
      for (const slot of slots) {
        clearTimeout(slot.restart);
        slot.restart = undefined;
      }
    }

    function stop(signal: "SIGTERM" | "SIGINT"): void {
      if (!stopping) log.info(`${signal}: stopping every worker process`);
      stopping = true;
      cancelRestarts();
      // A second SIGINT reaches them too: they then stop at once.
      forward(signal);
      finish();
    }

    function start(slot: Slot): void {
      slot.restart = undefined;
      slot.started = Date.now();
      slot.lastLine = "";
      const child = spawn(command[0]!, [...command.slice(1), ...childArgs(parsed, slot.wid)], {
        // A process group of its own: a terminal's Ctrl-C reaches the
        // supervisor alone, which passes it on once.
        detached: true,
        stdio: ["ignore", "inherit", "pipe"],
        env: { ...process.env, [SUPERVISOR_VARIABLE]: String(process.pid) },
      });
      slot.child = child;
      const stderrDone = new Promise<void>((done) => {
        const lines = createInterface({ input: child.stderr!, crlfDelay: Infinity });
        lines.on("line", (line) => {
          process.stderr.write(line + "\n");
          // The pointer to --help after a usage error says less than the error.
          if (line.trim() !== "" && !HELP_POINTER.test(line)) slot.lastLine = line;
        });
        lines.on("close", done);
      });
      let ended = false;
      const end = (exit: { code: number | null; signal: string | null; error?: Error }) => {
        if (ended) return;
        ended = true;
        // Its last stderr lines first (at most 1 s: a grandchild may hold the pipe).
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise((done) => (timer = setTimeout(done, 1000)));
        void Promise.race([stderrDone, late]).then(() => {
          clearTimeout(timer);
          exited(slot, exit);
        });
      };
      child.once("exit", (code, signal) => end({ code, signal }));
      child.once("error", (error) => end({ code: null, signal: null, error }));
      log.info(`Worker process ${slot.n} started: wid ${slot.wid}, pid ${child.pid}`);
    }

    function exited(
      slot: Slot,
      exit: { code: number | null; signal: string | null; error?: Error },
    ): void {
      const pid = slot.child?.pid;
      slot.child = undefined;
      const how = exit.error
        ? `could not be started (${exit.error.message})`
        : exit.signal
        ? `was killed by ${exit.signal}`
        : `exited with code ${exit.code}`;
      const last = slot.lastLine === "" ? "" : `; its last stderr line: ${slot.lastLine}`;
      const what = `Worker process ${slot.n} (wid ${slot.wid}, pid ${pid}) ${how}`;
      if (exit.code === 0) {
        log.info(`${what}${stopping ? "" : "; not restarted: it was told to stop"}`);
      } else if (exit.code === 2) {
        // Bad usage (a module that cannot be loaded): every process would fail alike.
        log.error(`${what}${last}; stopping the others`);
        code = 2;
        stopping = true;
        cancelRestarts();
        forward("SIGTERM");
      } else if (stopping || quiet || exit.error) {
        log.warn(`${what}${last}${stopping || exit.error ? "" : "; not restarted: quiet"}`);
        code ||= 1;
      } else {
        slot.crashes = Date.now() - slot.started >= STEADY_MS ? 1 : slot.crashes + 1;
        const wait = Math.min(LAST_RESTART_MS, FIRST_RESTART_MS * 2 ** (slot.crashes - 1));
        log.warn(`${what}${last}; restarting it in ${wait / 1000} s`);
        restarts++;
        slot.restart = setTimeout(() => start(slot), wait);
      }
      finish();
    }

    for (const slot of slots) start(slot);
  });
}

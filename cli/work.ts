/**
 * `faktory-ts work`: one worker running the handlers of the modules given,
 * stopped by signals, with a start line and a summary; or, with
 * `--processes`, a fleet of them (supervise.ts).
 *
 * @module
 */

import process from "node:process";
import { randomJid, type RunningJob, Worker, type WorkerOptions } from "../mod.ts";
import { validateQueue } from "../src/protocol/command.ts";
import { checkValue, CLIENT_OPTIONS, type Rule, WORKER_OPTIONS } from "../src/rules.ts";
import { envQueue, envWorkerId } from "../src/settings.ts";
import {
  type Command,
  CONNECTION_HELP,
  delay,
  type Parsed,
  PROGRAM,
  str,
  strs,
  UsageError,
  type Values,
} from "./args.ts";
import { connection } from "./connection.ts";
import { type CliLogger, createLogger, type LogOptions, logOptions } from "./log.ts";
import { loadModules, moduleUrl } from "./modules.ts";
import { duration } from "./output.ts";
import { runtimeName, supervise, SUPERVISOR_VARIABLE } from "./supervise.ts";

const HELP = `Usage: ${PROGRAM} work MODULE... [options]

Runs a worker with the handlers your modules register, until SIGTERM or SIGINT.
A module's default export is the function that registers them, the same one an
app passes to @faktory-ts/faktory/testing:

  // jobs.ts
  import type { HandlerRegistry } from "@faktory-ts/faktory";
  export default function (registry: HandlerRegistry) {
    registry.register("SendEmail", async (job, { signal }) => { /* ... */ });
  }

A module may also export startup, quiet and shutdown hooks, (worker) => void or a
Promise: startups and quiets run in module order, shutdowns in reverse order.
Modules are paths (relative to the working directory) or URLs, TypeScript or
JavaScript. Deno and Bun load TypeScript themselves; Node needs a loader:
  NODE_OPTIONS="--import tsx" npx faktory-ts work ./jobs.ts
or Node 22.6+ with --experimental-strip-types (the default from Node 23.6).

Options:
  -q, --queue NAME[,WEIGHT]  fetch from this queue; repeat for more (default FAKTORY_QUEUE,
                             else default). Without weights the order is strict: a fetch
                             takes from the first queue that has a job. With weights each
                             fetch orders the queues at random by weight, and a queue given
                             without one weighs 1: -q critical,3 -q default puts critical
                             first three times in four
  -c, --concurrency N        jobs run at once (default 10)
  --fetchers N               connections fetching at once (default: concurrency, at most 50)
  --shutdown-timeout DELAY   how long running jobs get to finish on stop: seconds, or 30s,
                             2m (default 25s)
  -l, --label LABEL          a label for the web UI; repeat for more
  --wid ID                   the worker's id (default FAKTORY_WORKER_ID, else random)
  --processes N              run N worker processes of this runtime, each with wid ID-1..ID-N,
                             restarting any that crashes (with backoff)
  -r, --require MODULE       a module to load, as the MODULE arguments (repeatable)
  --log-level LEVEL          debug (also each job), info (default), warn or error
  --log-format FORMAT        pretty (default; in colour on a terminal, unless NO_COLOR is
                             set) or json (one object per line: time, level, msg, wid, jid...)

Signals:
  TERM, INT    stop: no new jobs; running jobs get the shutdown timeout to finish, then
               are failed so the server retries them; exit 0
  INT again    stop at once: running jobs are failed now, so the server retries them
  TSTP         quiet: no new jobs (the web UI's "quiet")
  TTIN         log the jobs running now
With --processes, each signal goes to every worker process.

Logs go to stderr. Exit codes: 0 stopped, 1 the server could not be reached,
2 bad usage, or a module that cannot be loaded or registers nothing.

${CONNECTION_HELP}`;

const OPTIONS = {
  queue: { type: "string", short: "q", multiple: true },
  concurrency: { type: "string", short: "c" },
  fetchers: { type: "string" },
  "shutdown-timeout": { type: "string" },
  label: { type: "string", short: "l", multiple: true },
  wid: { type: "string" },
  processes: { type: "string" },
  require: { type: "string", short: "r", multiple: true },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
} as const;

/** What the command line asks of the worker. */
export interface WorkSettings {
  readonly modules: readonly string[];
  /** The worker's options, checked, but for `logger`, `middleware` and hooks. */
  readonly worker: WorkerOptions & { readonly wid: string };
  readonly processes: number | undefined;
  readonly log: LogOptions;
  /** The server's URL with the password masked. */
  readonly server: string;
}

/** Reads and checks every option, with the rules the library checks them by. */
async function settings({ positionals, values }: Parsed): Promise<WorkSettings> {
  const modules = [...strs(values.require), ...positionals];
  if (modules.length === 0) {
    throw new UsageError(
      "work needs a module that registers handlers, e.g. work ./jobs.ts",
      "work",
    );
  }
  for (const spec of modules) moduleUrl(spec); // a missing file: exit 2 before anything starts
  const log = logOptions(str(values["log-level"]), str(values["log-format"]));
  const wid = str(values.wid) ?? envWorkerId((name) => process.env[name]) ??
    randomJid().slice(0, 16);
  checkValue(CLIENT_OPTIONS.wid!, wid, "--wid");
  const labels = strs(values.label);
  const shutdown = str(values["shutdown-timeout"]);
  const { options, shownUrl } = await connection(values);
  return {
    modules,
    worker: {
      ...options,
      ...queues(strs(values.queue)),
      wid,
      concurrency: number(values, "concurrency", WORKER_OPTIONS.concurrency!),
      fetchers: number(values, "fetchers", WORKER_OPTIONS.fetchers!),
      shutdownTimeout: shutdown === undefined ? undefined : shutdownMs(shutdown),
      ...(labels.length === 0 ? {} : { labels }),
    },
    processes: number(values, "processes", PROCESSES),
    log,
    server: shownUrl,
  };
}

const PROCESSES: Rule = {
  check: (v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000
      ? undefined
      : "use a whole number from 1 to 1000",
};

/** A number option checked by its rule; the message quotes what was typed. */
function number(values: Values, name: string, rule: Rule): number | undefined {
  const text = str(values[name]);
  if (text === undefined) return undefined;
  const value = /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  const hint = rule.check(value);
  if (hint !== undefined) {
    throw new UsageError(`Invalid --${name} ${JSON.stringify(text)}: ${hint}`);
  }
  return value;
}

function shutdownMs(text: string): number {
  const ms = Math.round(delay(text, "--shutdown-timeout") * 1000);
  if (WORKER_OPTIONS.shutdownTimeout!.check(ms) !== undefined) {
    throw new UsageError(
      `Invalid --shutdown-timeout ${JSON.stringify(text)}: use at most a day (1d)`,
    );
  }
  return ms;
}

/**
 * `-q critical,3 -q default`: strict order when no queue has a weight;
 * weighted as soon as one has, a queue without one weighing 1 (as
 * faktory_worker_ruby reads the same flags).
 */
function queues(specs: readonly string[]): Pick<WorkerOptions, "queues" | "weights"> {
  if (specs.length === 0) return {};
  const weights: Record<string, number> = {};
  let weighted = false;
  for (const spec of specs) {
    const [name = "", weight, ...extra] = spec.split(",");
    validateQueue(name, "--queue");
    if (Object.hasOwn(weights, name)) {
      throw new UsageError(`Queue "${name}" is given twice: give each queue one --queue`);
    }
    let w = 1;
    if (weight !== undefined) {
      w = Number(weight);
      if (extra.length > 0 || !/^\d+$/.test(weight) || !(w >= 1 && w <= 1e6)) {
        throw new UsageError(
          `Invalid --queue ${
            JSON.stringify(spec)
          }: use NAME or NAME,WEIGHT with a weight from 1 to 1000000, one queue per --queue`,
        );
      }
      weighted = true;
    }
    weights[name] = w;
  }
  return weighted ? { weights } : { queues: Object.keys(weights) };
}

async function run(parsed: Parsed): Promise<number> {
  const s = await settings(parsed);
  const logger = createLogger(s.log, { wid: s.worker.wid });
  if (s.processes !== undefined) return await supervise(parsed, s, logger);
  return await runWorker(s, logger);
}

/** One worker in this process, until it is stopped; resolves with the exit code. */
async function runWorker(s: WorkSettings, log: CliLogger): Promise<number> {
  const modules = await loadModules(s.modules);
  const worker = new Worker(
    {
      ...s.worker,
      logger: log,
      handleSignals: false,
      hooks: modules.hooks,
    },
  );
  const jobtypes = await modules.register(worker);
  logStart(log, worker, s, jobtypes);

  let processed = 0;
  let failed = 0;
  worker.on("success", () => processed++);
  worker.on("failure", () => void (processed++, failed++));
  if (s.log.level === "debug") {
    worker.on("start", (job) => log.debug(`Job ${job.jid} (${job.jobtype}) started`));
    worker.on(
      "success",
      (job, ms) => log.debug(`Job ${job.jid} (${job.jobtype}) done in ${ms} ms`),
    );
  }
  const unlisten = listen(worker, s, log);
  const started = Date.now();
  try {
    await worker.run();
  } catch (e) {
    const error = e as Error;
    log.error(`Worker ${worker.wid} could not start: ${error?.name}: ${error?.message ?? error}`);
    return 1;
  } finally {
    unlisten();
  }
  const uptime = duration((Date.now() - started) / 1000);
  log.log(
    "info",
    `Worker ${worker.wid} done after ${uptime}: ${processed} job(s) processed, ${failed} failed`,
    { processed, failed, uptimeMs: Date.now() - started },
  );
  return 0;
}

/** The start line: the worker id, its queues, concurrency and server. */
function logStart(log: CliLogger, worker: Worker, s: WorkSettings, jobtypes: readonly string[]) {
  const { weights, queues: strict } = s.worker;
  const order = weights
    ? `${Object.entries(weights).map(([q, w]) => `${q} (weight ${w})`).join(", ")}, weighted`
    : `${(strict ?? [envQueue((name) => process.env[name])]).join(", ")}, in order`;
  const concurrency = s.worker.concurrency ?? 10;
  log.log(
    "info",
    `Worker ${worker.wid} starting: queues ${order}; concurrency ${concurrency}; ` +
      `server ${s.server}; jobtypes ${jobtypes.join(", ")}; ${runtimeName()}`,
    {
      queues: weights ? Object.keys(weights) : strict,
      ...(weights ? { weights } : {}),
      concurrency,
      server: s.server,
      jobtypes,
      runtime: runtimeName(),
    },
  );
}

/**
 * SIGTERM and SIGINT stop the worker, a second SIGINT at once; SIGTSTP
 * quiets it, SIGTTIN logs its running jobs. Returns a function that stops
 * listening.
 */
function listen(worker: Worker, s: WorkSettings, log: CliLogger): () => void {
  let stopping = false;
  const stopOn = (signal: "SIGTERM" | "SIGINT") => () => {
    if (!stopping) {
      stopping = true;
      const ms = s.worker.shutdownTimeout ?? 25_000;
      log.info(
        `${signal}: stopping; running jobs get ${ms / 1000} s to finish` +
          (signal === "SIGINT" ? " (SIGINT again stops at once)" : ""),
      );
      void worker.stop();
    } else if (signal === "SIGINT") {
      log.warn(
        "SIGINT again: stopping at once; running jobs are failed so the server retries them",
      );
      void worker.stop({ force: true });
    }
  };
  const handlers: ["SIGTERM" | "SIGINT" | "SIGTSTP" | "SIGTTIN", () => void][] = [
    ["SIGTERM", stopOn("SIGTERM")],
    ["SIGINT", stopOn("SIGINT")],
    ["SIGTSTP", () => worker.quiet()],
    ["SIGTTIN", () => logRunning(log, worker.running())],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const watch = watchSupervisor(log, () => void worker.stop());
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    clearInterval(watch);
  };
}

function logRunning(log: CliLogger, jobs: readonly RunningJob[]): void {
  log.info(`${jobs.length} job(s) running`);
  for (const job of jobs) {
    log.log(
      "info",
      `Job ${job.jid} (${job.jobtype}) from queue ${job.queue}, running for ${job.elapsedMs} ms`,
      { jid: job.jid, jobtype: job.jobtype, queue: job.queue, elapsedMs: job.elapsedMs },
    );
  }
}

/**
 * A worker process started by `--processes` stops by itself once its
 * supervisor is gone (killed with SIGKILL, say): its parent is then another.
 */
function watchSupervisor(
  log: CliLogger,
  stop: () => void,
): ReturnType<typeof setInterval> | undefined {
  const supervisor = Number(process.env[SUPERVISOR_VARIABLE]);
  if (!supervisor) return undefined;
  // A supervisor gone, its pipe may be too: a failed log write must not end the worker.
  process.stderr.on("error", () => {});
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    log.warn(`The supervisor (pid ${supervisor}) is gone: stopping`);
    stop();
  }, 1000);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** `faktory-ts work`. */
export const work: Command = { help: HELP, options: OPTIONS, run };

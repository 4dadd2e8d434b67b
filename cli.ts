#!/usr/bin/env node
/**
 * `faktory-ts`: push jobs and look after a Faktory server from a shell.
 *
 * ```sh
 * deno run -A jsr:@faktory-ts/faktory/cli info      # JSR
 * npx @faktory-ts/faktory info                      # npm (the bin is `faktory-ts`)
 * deno run -A cli.ts push SendEmail '["ada@example.com"]' --queue mail --in 5m
 * ```
 *
 * Commands: `push`, `info`, `queue pause|resume|remove|latency`, `mutate`;
 * `faktory-ts <command> --help` explains each. The server is found as the
 * library finds it (`--url`, else the variable named by `FAKTORY_PROVIDER`,
 * else `FAKTORY_URL`, else `tcp://localhost:7419`); passwords are never
 * printed. Exit codes: 0 done, 1 the server refused or could not be
 * reached, 2 bad usage (unknown option, bad JSON, invalid job or URL).
 *
 * This file is an entry point, not a library module: importing it runs the
 * command line of the current process. It lives outside `src/` because it
 * uses `node:` modules (`node:util` parseArgs, `node:process`, `node:fs`,
 * `node:readline`), which Deno, Bun and Node all provide.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  buildPayload,
  BulkPushError,
  Client,
  jobCounts,
  type JobFilter,
  type JobOptions,
  type JobPayload,
  mergeOptions,
  queueSizes,
  type ServerInfo,
  silentLogger,
  ValidationError,
} from "./mod.ts";
import { validatePayload } from "./src/payload.ts";
import { envSettings, maskUrl, parseUrl } from "./src/settings.ts";

const PROGRAM = "faktory-ts";

// ---- output, with secrets taken out --------------------------------------------

/** Strings never to print (the password, raw and URL-encoded). */
const secrets = new Set<string>();

function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

const stdout = (text: string) => void process.stdout.write(redact(text) + "\n");
const stderr = (text: string) => void process.stderr.write(redact(text) + "\n");

/** Wrong arguments: exit code 2, with a pointer to the help. */
class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

// ---- help ----------------------------------------------------------------------

const CONNECTION_HELP = `Connection:
  --url URL        tcp(+tls)://(user:password@)host:port(/namespace); default: the variable
                   named by FAKTORY_PROVIDER (default FAKTORY_URL), else tcp://localhost:7419
  --ca FILE        PEM certificate to trust for tcp+tls (a private CA)
  --timeout MS     wait at most this long for the server (default 10000)`;

const HELP: Record<string, string> = {
  main: `${PROGRAM}: push jobs to Faktory and look after the server

Usage: ${PROGRAM} <command> [options]

Commands:
  push      push a job, or every job of a JSON-lines file
  info      what the server holds: queues, sets, totals
  queue     pause, resume, remove queues; show their latency
  mutate    requeue, discard, kill or clear jobs of the retries, scheduled or dead set

Run '${PROGRAM} <command> --help' for a command's options.

${CONNECTION_HELP}

Exit codes: 0 done, 1 server or connection error, 2 bad usage.`,

  push: `Usage: ${PROGRAM} push <jobtype> [args] [options]
       ${PROGRAM} push [jobtype] --file jobs.jsonl [options]

Pushes one job and prints its jid. args is a JSON array (default []), e.g.
  ${PROGRAM} push SendEmail '["ada@example.com", "Welcome"]' --queue mail --in 10m

With --file, pushes every line of a JSON-lines file in batches of 1000, printing
the jids in order and the progress on stderr. A line is either a JSON array (the
args of the jobtype given on the command line) or a job object with the fields
jobtype, args, and optionally jid, queue, retry, at, in, reserve_for, backtrace,
custom. The options below apply to every line that does not set its own.
The whole file is checked before any job is sent.

Options:
  --queue NAME        queue (default FAKTORY_QUEUE, else default)
  --retry N           retries on failure (default 25; 0 discards a failed job)
  --once              a failed job goes straight to the dead set (retry -1)
  --at TIME           run at this time (ISO 8601, e.g. 2030-01-02T03:04:05Z)
  --in DELAY          run after this delay: seconds, or 30s, 5m, 2h, 1d
  --reserve-for SECS  seconds a worker may hold the job (up to 86400)
  --backtrace N       lines of backtrace to keep on failure
  --custom JSON       free-form object, e.g. '{"tenant":"acme"}'
  --jid JID           the job's id (default: a random one); not with --file
  --file PATH         push every job of this JSON-lines file

${CONNECTION_HELP}`,

  info: `Usage: ${PROGRAM} info [--json]

Shows the server's version, its job counts and the size of every queue.

Options:
  --json           print the server's INFO reply as JSON instead

${CONNECTION_HELP}`,

  queue: `Usage: ${PROGRAM} queue pause|resume|remove <queue>... | --all
       ${PROGRAM} queue latency <queue>... [--json]

  pause     fetches skip the queues until they are resumed
  resume    resume paused queues
  remove    delete the queues and every job waiting in them
  latency   seconds the oldest job of each queue has been waiting

Options:
  --all            every queue (of the URL's namespace, if it has one)
  --json           latency as a JSON object

${CONNECTION_HELP}`,

  mutate: `Usage: ${PROGRAM} mutate <action> <set> [filter]

Actions:  requeue (back to its queue, to run now), discard (delete),
          kill (to the dead set; retries and scheduled only), clear (delete every job)
Sets:     retries, scheduled, dead

Filter (requeue, discard and kill need one; clear takes none):
  --jobtype NAME   jobs of this jobtype
  --jid JID        this job (repeat for more); not with --jobtype or --match
  --match GLOB     a Redis glob on the job's JSON, e.g. '*ada@example.com*'
  --all            every job of the set (same as --match '*')

Example:
  ${PROGRAM} mutate requeue dead --jobtype SendEmail

${CONNECTION_HELP}`,
};

// ---- arguments -----------------------------------------------------------------

type Options = NonNullable<ParseArgsConfig["options"]>;

const CONNECTION: Options = {
  url: { type: "string" },
  ca: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const COMMAND_OPTIONS: Record<string, Options> = {
  push: {
    queue: { type: "string", short: "q" },
    retry: { type: "string" },
    once: { type: "boolean" },
    at: { type: "string" },
    in: { type: "string" },
    "reserve-for": { type: "string" },
    backtrace: { type: "string" },
    custom: { type: "string" },
    jid: { type: "string" },
    file: { type: "string", short: "f" },
  },
  info: { json: { type: "boolean" } },
  queue: { all: { type: "boolean" }, json: { type: "boolean" } },
  mutate: {
    jobtype: { type: "string" },
    jid: { type: "string", multiple: true },
    match: { type: "string" },
    all: { type: "boolean" },
  },
};

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface Parsed {
  readonly command: string | undefined;
  readonly positionals: string[];
  readonly values: Values;
}

function parse(args: string[]): Parsed {
  // Find the command first (any known option may come before it), then parse
  // again with that command's options only, so a misplaced option is refused.
  const all: Options = { ...CONNECTION };
  for (const options of Object.values(COMMAND_OPTIONS)) {
    for (const [name, option] of Object.entries(options)) {
      all[name] = { ...option, multiple: true } as Options[string];
    }
  }
  const first = parseArgs({ args, options: all, strict: false, allowPositionals: true });
  const command = first.positionals[0];
  if (command === undefined) {
    return { command, positionals: [], values: { help: first.values.help } };
  }
  if (command === "help") {
    return { command: first.positionals[1], positionals: [], values: { help: true } };
  }
  const own = COMMAND_OPTIONS[command];
  if (own === undefined) throw new UsageError(`Unknown command "${command}"`);
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...CONNECTION, ...own },
      strict: true,
      allowPositionals: true,
    });
    return { command, positionals: positionals.slice(1), values: values as Values };
  } catch (e) {
    throw new UsageError(
      (e as Error).message.replace(/\. To specify a positional.*$/s, ""),
      command,
    );
  }
}

const str = (v: Values[string]) => (typeof v === "string" ? v : undefined);

function wholeNumber(text: string | undefined, option: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      `Invalid ${option} ${JSON.stringify(text)}: use a whole number, ${min} or more`,
    );
  }
  return n;
}

const UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `5m`, `1.5h`, `2d` -> seconds. */
function delay(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  if (!m) {
    throw new UsageError(`Invalid --in ${JSON.stringify(text)}: use seconds, or 30s, 5m, 2h, 1d`);
  }
  return Number(m[1]) * UNITS[m[2]!]!;
}

function time(text: string, option: string): Date {
  const date = new Date(text);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(date.getTime())) {
    throw new UsageError(
      `Invalid ${option} ${
        JSON.stringify(text)
      }: use an ISO 8601 time such as 2030-01-02T03:04:05Z`,
    );
  }
  return date;
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The push options given on the command line. */
function pushOptions(values: Values): JobOptions {
  if (values.once && values.retry !== undefined) {
    throw new UsageError("Give --retry or --once, not both");
  }
  if (values.at !== undefined && values.in !== undefined) {
    throw new UsageError("Give --at or --in, not both");
  }
  const custom = str(values.custom);
  return mergeOptions({
    queue: str(values.queue),
    retry: wholeNumber(str(values.retry), "--retry", 0),
    once: values.once === true ? true : undefined,
    at: values.at === undefined ? undefined : time(str(values.at)!, "--at"),
    in: values.in === undefined ? undefined : delay(str(values.in)!),
    reserveFor: wholeNumber(str(values["reserve-for"]), "--reserve-for", 1),
    backtrace: wholeNumber(str(values.backtrace), "--backtrace", 0),
    custom: custom === undefined ? undefined : object(json(custom, "--custom"), "--custom"),
  });
}

// ---- connecting ----------------------------------------------------------------

async function connect(values: Values): Promise<{ client: Client; url: string }> {
  const url = str(values.url) ?? envSettings((name) => process.env[name]).url;
  const { password } = parseUrl(url); // a bad URL is a ValidationError: exit 2
  if (password !== undefined && password !== "") {
    secrets.add(password);
    secrets.add(encodeURIComponent(password));
  }
  const timeout = wholeNumber(str(values.timeout), "--timeout", 1);
  const ca = str(values.ca);
  let caCert: string | undefined;
  if (ca !== undefined) {
    try {
      caCert = await readFile(ca, "utf8");
    } catch (e) {
      throw new UsageError(`Cannot read --ca ${ca}: ${(e as Error).message}`);
    }
  }
  const client = await Client.connect({
    url,
    logger: silentLogger,
    ...(caCert === undefined ? {} : { tls: { caCerts: [caCert] } }),
    ...(timeout === undefined ? {} : { connectTimeout: timeout, commandTimeout: timeout }),
  });
  return { client, url: maskUrl(url) };
}

// ---- commands ------------------------------------------------------------------

async function push({ positionals, values }: Parsed): Promise<void> {
  const base = mergeOptions(
    { queue: envSettings((name) => process.env[name]).queue },
    pushOptions(values),
  );
  const file = str(values.file);
  if (file !== undefined) return await pushFile(file, positionals, base, values);
  const [jobtype, argsText, ...extra] = positionals;
  if (jobtype === undefined) throw new UsageError("push needs a jobtype", "push");
  if (extra.length > 0) {
    throw new UsageError(
      `Unexpected ${JSON.stringify(extra[0])}: give the args as one JSON array, e.g. '["a", 1]'`,
      "push",
    );
  }
  const args = argsText === undefined ? [] : json(argsText, "args");
  if (!Array.isArray(args)) throw new UsageError("args must be a JSON array, e.g. '[\"a\", 1]'");
  const job = buildPayload(mergeOptions(base, { jobtype }), args);
  const jid = str(values.jid);
  if (jid !== undefined) job.jid = jid;
  validatePayload(job);
  const { client } = await connect(values);
  try {
    stdout(await client.push(job));
  } finally {
    await client.close();
  }
}

const LINE_FIELDS = new Set([
  "jobtype",
  "args",
  "jid",
  "queue",
  "retry",
  "at",
  "in",
  "reserve_for",
  "backtrace",
  "custom",
]);

/** One line of a JSON-lines file as a job (throws UsageError naming the line). */
function lineJob(
  text: string,
  n: number,
  jobtype: string | undefined,
  base: JobOptions,
): JobPayload {
  const where = `line ${n}`;
  try {
    const value = json(text, where);
    if (Array.isArray(value)) {
      if (jobtype === undefined) {
        throw new UsageError(`${where} is an args array: give the jobtype on the command line`);
      }
      const job = buildPayload(mergeOptions(base, { jobtype }), value);
      validatePayload(job);
      return job;
    }
    const line = object(value, where);
    for (const key of Object.keys(line)) {
      if (!LINE_FIELDS.has(key)) {
        throw new UsageError(
          `${where}: unknown field "${key}" (use ${[...LINE_FIELDS].join(", ")})`,
        );
      }
    }
    const { args = [], jid, at } = line;
    if (at !== undefined && typeof at !== "string") {
      throw new UsageError(`${where}: at must be a string`);
    }
    const own: JobOptions = {
      jobtype: (line.jobtype ?? jobtype) as string | undefined,
      queue: line.queue as string | undefined,
      retry: line.retry as number | undefined,
      at: at === undefined ? undefined : time(at, "at"),
      in: line.in as number | undefined,
      reserveFor: line.reserve_for as number | undefined,
      backtrace: line.backtrace as number | undefined,
      custom: line.custom as Record<string, unknown> | undefined,
    };
    const job = buildPayload(mergeOptions(base, own), args as unknown[]);
    if (jid !== undefined) job.jid = jid as string;
    validatePayload(job);
    return job;
  } catch (e) {
    if (e instanceof UsageError && e.message.startsWith(where)) throw e;
    throw new UsageError(`${where}: ${(e as Error).message}`);
  }
}

async function* lines(file: string): AsyncGenerator<[text: string, n: number]> {
  const stream = createReadStream(file, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
  try {
    await opened;
  } catch (e) {
    stream.destroy();
    throw new UsageError(`Cannot read --file ${file}: ${(e as Error).message}`);
  }
  let n = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    if (text.trim() !== "") yield [text, n];
  }
}

async function pushFile(
  file: string,
  positionals: string[],
  base: JobOptions,
  values: Values,
): Promise<void> {
  const [jobtype, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError("With --file, give at most a jobtype", "push");
  if (values.jid !== undefined) throw new UsageError("--jid cannot be used with --file", "push");
  // First pass: check every line, so a bad file sends nothing.
  let total = 0;
  for await (const [text, n] of lines(file)) {
    lineJob(text, n, jobtype, base);
    total++;
  }
  const { client } = await connect(values);
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let pushed = 0;
  const refused: string[] = [];
  const progress = (done: boolean) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(pushed / seconds) : pushed;
    const text = `pushed ${pushed}/${total} jobs (${rate}/s)`;
    if (tty) process.stderr.write(`\r${text}${done ? "\n" : ""}`);
    else stderr(text);
  };
  try {
    let batch: { job: JobPayload; n: number }[] = [];
    const send = async () => {
      let reply: Record<string, string>;
      try {
        reply = await client.pushBulk(batch.map((b) => b.job));
      } catch (e) {
        // Part of the batch was pushed before the connection failed: say which.
        if (e instanceof BulkPushError) {
          for (const jid of e.pushed) stdout(jid);
          pushed += e.pushed.length;
          progress(true);
        }
        throw e;
      }
      for (const { job, n } of batch) {
        const reason = Object.hasOwn(reply, job.jid) ? reply[job.jid] : undefined;
        if (reason === undefined) stdout(job.jid);
        else refused.push(`line ${n} (jid ${job.jid}): ${reason}`);
      }
      pushed += batch.length - Object.keys(reply).length;
      batch = [];
      progress(false);
    };
    for await (const [text, n] of lines(file)) {
      batch.push({ job: lineJob(text, n, jobtype, base), n });
      if (batch.length === 1000) await send();
    }
    if (batch.length > 0) await send();
  } finally {
    await client.close();
  }
  if (tty) progress(true);
  stderr(
    `pushed ${pushed} of ${total} jobs from ${file} in ${
      ((Date.now() - started) / 1000).toFixed(1)
    } s`,
  );
  if (refused.length > 0) {
    for (const line of refused) stderr(`refused: ${line}`);
    process.exitCode = 1;
  }
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean).slice(0, 2).join(" ");
}

function table(rows: [string, string][], indent = "  "): string[] {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${indent}${name.padEnd(width)}  ${value}`);
}

async function info({ positionals, values }: Parsed): Promise<void> {
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected ${JSON.stringify(positionals[0])}`, "info");
  }
  const { client, url } = await connect(values);
  let reply: ServerInfo;
  try {
    reply = await client.info();
  } finally {
    await client.close();
  }
  if (values.json) return stdout(JSON.stringify(reply, null, 2));
  const ns = client.namespace;
  const counts = jobCounts(reply, ns);
  const sizes = Object.entries(queueSizes(reply, ns)).sort(([a], [b]) => a.localeCompare(b));
  const s = reply.server;
  const out = [
    `Faktory ${s.faktory_version} at ${url}${ns === undefined ? "" : ` (namespace ${ns})`}`,
    `  up ${duration(s.uptime)}, ${s.connections} connection(s), ${s.used_memory_mb} MB used`,
    "",
    "Jobs:",
    ...table([
      ["enqueued", String(counts.enqueued)],
      ["working", String(counts.working)],
      ["scheduled", String(counts.scheduled)],
      ["retries", String(counts.retries)],
      ["dead", String(counts.dead)],
      ["processed", String(counts.processed)],
      ["failed", String(counts.failed)],
    ]),
    "",
    sizes.length === 0 ? "Queues: none" : "Queues:",
    ...(sizes.length === 0 ? [] : table(sizes.map(([q, n]) => [q, String(n)]))),
  ];
  stdout(out.join("\n"));
}

async function queue({ positionals, values }: Parsed): Promise<void> {
  const [action, ...names] = positionals;
  const actions = ["pause", "resume", "remove", "latency"];
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      action === undefined
        ? `queue needs an action: ${actions.join(", ")}`
        : `Unknown queue action "${action}": use ${actions.join(", ")}`,
      "queue",
    );
  }
  if (values.all && names.length > 0) {
    throw new UsageError("Give queue names or --all, not both", "queue");
  }
  if (action === "latency") {
    if (values.all) throw new UsageError("latency needs queue names (no --all)", "queue");
    if (names.length === 0) throw new UsageError("latency needs at least one queue name", "queue");
  } else {
    if (values.json) throw new UsageError(`--json is only for latency`, "queue");
    if (!values.all && names.length === 0) {
      throw new UsageError(`queue ${action} needs queue names, or --all`, "queue");
    }
  }
  const { client } = await connect(values);
  try {
    const target = values.all ? "*" : names;
    if (action === "pause") await client.pauseQueues(target);
    else if (action === "resume") await client.resumeQueues(target);
    else if (action === "remove") await client.removeQueues(target);
    else {
      const latency = await client.queueLatency(names);
      if (values.json) return stdout(JSON.stringify(latency));
      return stdout(
        table(names.map((q) => [q, `${(latency[q] ?? 0).toFixed(3)} s`]), "").join("\n"),
      );
    }
    const done = { pause: "paused", resume: "resumed", remove: "removed" }[action];
    stdout(`${done} ${values.all ? "every queue" : names.join(", ")}`);
  } finally {
    await client.close();
  }
}

async function mutate({ positionals, values }: Parsed): Promise<void> {
  const [action, set, ...extra] = positionals;
  const actions = ["requeue", "discard", "kill", "clear"];
  const sets = ["retries", "scheduled", "dead"];
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      action === undefined
        ? `mutate needs an action: ${actions.join(", ")}`
        : `Unknown mutate action "${action}": use ${actions.join(", ")}`,
      "mutate",
    );
  }
  if (set === undefined || !sets.includes(set)) {
    throw new UsageError(
      set === undefined
        ? `mutate ${action} needs a set: ${sets.join(", ")}`
        : `Unknown set "${set}": use ${sets.join(", ")}`,
      "mutate",
    );
  }
  if (extra.length > 0) throw new UsageError(`Unexpected ${JSON.stringify(extra[0])}`, "mutate");
  if (action === "kill" && set === "dead") {
    throw new UsageError(
      "kill moves jobs to the dead set: use it on retries or scheduled",
      "mutate",
    );
  }
  const jids = (values.jid as string[] | undefined) ?? [];
  const jobtype = str(values.jobtype);
  const match = str(values.match);
  const filterGiven = jids.length > 0 || jobtype !== undefined || match !== undefined || values.all;
  if (action === "clear") {
    if (filterGiven) {
      throw new UsageError("clear takes no filter: it deletes every job of the set", "mutate");
    }
  } else {
    if (!filterGiven) {
      throw new UsageError(
        `${action} needs a filter: --jobtype, --jid, --match or --all`,
        "mutate",
      );
    }
    if (values.all && (jids.length > 0 || jobtype !== undefined || match !== undefined)) {
      throw new UsageError("--all matches every job: give no other filter", "mutate");
    }
    if (jids.length > 0 && (jobtype !== undefined || match !== undefined)) {
      throw new UsageError(
        "Give --jid alone: the server ignores --jobtype and --match with jids",
        "mutate",
      );
    }
  }
  const filter: JobFilter = jids.length > 0
    ? { jids }
    : { ...(jobtype === undefined ? {} : { jobtype }), pattern: values.all ? "*" : match };
  const { client } = await connect(values);
  const target = set as "retries" | "scheduled" | "dead";
  try {
    if (action === "clear") await client.clear(target);
    else if (action === "requeue") await client.requeue(target, filter);
    else if (action === "discard") await client.discard(target, filter);
    else await client.kill(target as "retries" | "scheduled", filter);
  } finally {
    await client.close();
  }
  const what = action === "clear"
    ? "every job"
    : jids.length > 0
    ? `jobs ${jids.join(", ")}`
    : values.all
    ? "every job"
    : [jobtype && `jobtype ${jobtype}`, match && `matching ${match}`].filter(Boolean).join(" ");
  const done =
    { requeue: "requeued", discard: "discarded", kill: "killed", clear: "cleared" }[action];
  stdout(`${done} ${what} of ${set}`);
}

const COMMANDS: Record<string, (parsed: Parsed) => Promise<void>> = { push, info, queue, mutate };

// ---- main ----------------------------------------------------------------------

async function main(args: string[]): Promise<number> {
  let command: string | undefined;
  try {
    const parsed = parse(args);
    command = parsed.command;
    if (parsed.values.help) {
      const topic = command !== undefined && HELP[command] !== undefined ? command : "main";
      if (command !== undefined && command !== "help" && HELP[command] === undefined) {
        throw new UsageError(`Unknown command "${command}"`);
      }
      stdout(HELP[topic]!);
      return 0;
    }
    if (command === undefined) {
      stderr(HELP.main!);
      return 2;
    }
    await COMMANDS[command]!(parsed);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ValidationError) {
      stderr(`${PROGRAM}: ${e.message}`);
      const topic = e instanceof UsageError ? e.command ?? command : command;
      stderr(`Run '${PROGRAM} ${topic ? `${topic} ` : ""}--help' for usage.`);
      return 2;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    stderr(`${PROGRAM}: ${error.name === "Error" ? "" : `${error.name}: `}${error.message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

/**
 * `faktory-ts push`: one job from the command line, or every job of a
 * JSON-lines file in batches.
 *
 * @module
 */

import { createReadStream } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import {
  buildPayload,
  BulkPushError,
  type JobOptions,
  type JobPayload,
  mergeOptions,
} from "../mod.ts";
import { validatePayload } from "../src/payload.ts";
import { envSettings } from "../src/settings.ts";
import {
  type Command,
  CONNECTION_HELP,
  delay,
  json,
  object,
  type Parsed,
  PROGRAM,
  str,
  time,
  UsageError,
  type Values,
  wholeNumber,
} from "./args.ts";
import { connect } from "./connection.ts";
import { stderr, stdout } from "./output.ts";

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
    in: values.in === undefined ? undefined : delay(str(values.in)!, "--in"),
    reserveFor: wholeNumber(str(values["reserve-for"]), "--reserve-for", 1),
    backtrace: wholeNumber(str(values.backtrace), "--backtrace", 0),
    custom: custom === undefined ? undefined : object(json(custom, "--custom"), "--custom"),
  });
}

async function run({ positionals, values }: Parsed): Promise<number | void> {
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
): Promise<number> {
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
    return 1;
  }
  return 0;
}

/** `faktory-ts push`. */
export const push: Command = {
  help: `Usage: ${PROGRAM} push <jobtype> [args] [options]
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
  options: {
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
  run,
};

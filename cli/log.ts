/**
 * The worker's log: a {@linkcode Logger} that writes one line per message
 * to stderr, either for people (`pretty`: time, level, worker id, message;
 * coloured on a terminal unless `NO_COLOR` is set) or for log shippers
 * (`json`: one object per line with `time`, `level`, `msg` and fields such
 * as `wid` and `jid`).
 *
 * @module
 */

import process from "node:process";
import type { Logger } from "../mod.ts";
import { UsageError } from "./args.ts";
import { redact } from "./output.ts";

/** The levels, least severe first. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type Level = typeof LEVELS[number];
/** The formats. */
export const FORMATS = ["pretty", "json"] as const;
/** A log format. */
export type Format = typeof FORMATS[number];

/** Fields that go with a message: `wid`, `jid`, `jobtype`... */
export type Fields = Record<string, unknown>;

/** A {@linkcode Logger} whose messages also carry fields. */
export interface CliLogger extends Logger {
  /** Logs `message` with `fields`, if `level` is logged. */
  log(level: Level, message: string, fields?: Fields): void;
}

/** How to log. */
export interface LogOptions {
  readonly level: Level;
  readonly format: Format;
}

/** Checks `--log-level` and `--log-format`. */
export function logOptions(level = "info", format = "pretty"): LogOptions {
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`Invalid --log-level ${JSON.stringify(level)}: use ${LEVELS.join(", ")}`);
  }
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(
      `Invalid --log-format ${
        JSON.stringify(format)
      }: use pretty (for people) or json (one object per line)`,
    );
  }
  return { level: level as Level, format: format as Format };
}

/** Colours on a terminal, unless `NO_COLOR` says no (https://no-color.org); `FORCE_COLOR` forces them. */
function wantsColor(): boolean {
  if (process.env.NO_COLOR) return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0";
  return process.stderr.isTTY === true;
}

const COLORS: Record<Level, string> = { debug: "90", info: "36", warn: "33", error: "31" };
const paint = (on: boolean, code: string, text: string) =>
  on ? `\x1b[${code}m${text}\x1b[0m` : text;

/** A logger writing to stderr as `options` say; `fields` go with every message. */
export function createLogger(options: LogOptions, fields: Fields = {}): CliLogger {
  const min = LEVELS.indexOf(options.level);
  const color = options.format === "pretty" && wantsColor();
  const write = (line: string) => void process.stderr.write(line + "\n");
  const format = options.format === "json" ? jsonLine : prettyLine(color);
  const emit = (level: Level, message: string, extra: Fields, data: readonly unknown[]) => {
    if (LEVELS.indexOf(level) < min) return;
    try {
      write(redact(format(level, String(message), { ...fields, ...extra }, data)));
    } catch {
      // A line that cannot be written (a closed pipe) must not fail a job.
    }
  };
  const at = (level: Level) => (message: string, ...data: unknown[]) =>
    emit(level, message, {}, data);
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    log: (level, message, extra = {}) => emit(level, message, extra, []),
  };
}

/**
 * One JSON object: the fields, then what a `Logger` call's extra arguments
 * add: an Error as `error`, a plain object's keys, anything else in `data`.
 * The library names the job a message is about as "Job <jid>": that jid
 * becomes a field too, for log shippers to search by.
 */
function jsonLine(level: Level, msg: string, fields: Fields, data: readonly unknown[]): string {
  const record: Fields = { time: new Date().toISOString(), level, msg, ...fields };
  const jid = JOB_IN_MESSAGE.exec(msg)?.[1];
  if (jid !== undefined && record.jid === undefined) record.jid = jid;
  const rest: unknown[] = [];
  for (const item of data) {
    if (item instanceof Error) record.error = errorFields(item);
    else if (isPlainObject(item)) Object.assign(record, item, { time: record.time, level, msg });
    else rest.push(item);
  }
  if (rest.length > 0) record.data = rest;
  try {
    return JSON.stringify(
      record,
      (_key, value) => typeof value === "bigint" ? String(value) : value,
    );
  } catch {
    // A cycle in what a handler logged: keep the message.
    return JSON.stringify({
      time: record.time,
      level,
      msg,
      ...(fields.wid ? { wid: fields.wid } : {}),
    });
  }
}

const JOB_IN_MESSAGE = /\b[Jj]ob (\S{8,}?)(?=[\s:,)]|$)/;

function errorFields(e: Error): Fields {
  return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * `12:34:56.789 INFO  [wid] message data...`: the message says what a person
 * needs; of the fields, only the worker id is shown. A `Logger` call's extra
 * arguments follow, as `console` would show them.
 */
function prettyLine(color: boolean) {
  return (level: Level, msg: string, fields: Fields, data: readonly unknown[]): string => {
    const now = new Date();
    const clock = [now.getHours(), now.getMinutes(), now.getSeconds()]
      .map((n) => String(n).padStart(2, "0")).join(":") +
      `.${String(now.getMilliseconds()).padStart(3, "0")}`;
    const parts = [
      paint(color, "2", clock),
      paint(color, COLORS[level], level.toUpperCase().padEnd(5)),
      ...(fields.wid === undefined ? [] : [paint(color, "2", `[${fields.wid}]`)]),
      msg,
    ];
    for (const item of data) {
      if (item instanceof Error) {
        parts.push(
          msg.includes(item.message) ? `(${item.name})` : `(${item.name}: ${item.message})`,
        );
      } else parts.push(typeof item === "string" ? item : show(item));
    }
    return parts.join(" ");
  };
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

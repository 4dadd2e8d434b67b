/**
 * Parsing the command line (node:util `parseArgs`) and the checks every
 * command shares; a wrong argument is a {@linkcode UsageError} (exit code 2).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** The name the command line goes by. */
export const PROGRAM = "faktory-ts";

/** Wrong arguments: exit code 2, with a pointer to the command's help. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Options as `parseArgs` takes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/** Option values as `parseArgs` returns them. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The arguments of one command. */
export interface Parsed {
  readonly command: string | undefined;
  /** The arguments after the command's name. */
  readonly positionals: string[];
  readonly values: Values;
  /** The arguments as given. */
  readonly args: readonly string[];
  /** Where each option and positional is in `args` (see `parseArgs`'s `tokens`). */
  readonly tokens: readonly Token[];
}

/** One option or positional of the command line and where it is. */
export type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/** A command: its help, its options, and what it does. */
export interface Command {
  readonly help: string;
  readonly options: Options;
  /** Runs the command; resolves with the exit code (default 0). */
  run(parsed: Parsed): Promise<number | void>;
}

/** Options every command that talks to a server takes. */
export const CONNECTION: Options = {
  url: { type: "string" },
  ca: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** The help for {@linkcode CONNECTION}. */
export const CONNECTION_HELP = `Connection:
  --url URL        tcp(+tls)://(user:password@)host:port(/namespace); default: the variable
                   named by FAKTORY_PROVIDER (default FAKTORY_URL), else tcp://localhost:7419
  --ca FILE        PEM certificate to trust for tcp+tls (a private CA)
  --timeout MS     wait at most this long for the server (default 10000)`;

/**
 * Finds the command first (any known option may come before it), then parses
 * again with that command's options only, so a misplaced option is refused.
 */
export function parse(args: string[], commands: Readonly<Record<string, Command>>): Parsed {
  const all: Options = { ...CONNECTION };
  for (const { options } of Object.values(commands)) {
    for (const [name, option] of Object.entries(options)) {
      all[name] = { ...option, multiple: true } as Options[string];
    }
  }
  const first = parseArgs({ args, options: all, strict: false, allowPositionals: true });
  const command = first.positionals[0];
  const none = { positionals: [], args, tokens: [] };
  if (command === undefined) return { command, values: { help: first.values.help }, ...none };
  if (command === "help") {
    return { command: first.positionals[1], values: { help: true }, ...none };
  }
  const own = commands[command];
  if (own === undefined) throw new UsageError(`Unknown command "${command}"`);
  try {
    const { values, positionals, tokens } = parseArgs({
      args,
      options: { ...CONNECTION, ...own.options },
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
    return { command, positionals: positionals.slice(1), values: values as Values, args, tokens };
  } catch (e) {
    throw new UsageError(
      (e as Error).message.replace(/\. To specify a positional.*$/s, ""),
      command,
    );
  }
}

/** A string option's value, if given. */
export const str = (
  v: Values[string],
): string | undefined => (typeof v === "string" ? v : undefined);

/** A repeatable string option's values. */
export const strs = (v: Values[string]): string[] =>
  Array.isArray(v) ? v.filter((s) => typeof s === "string") : typeof v === "string" ? [v] : [];

/** A whole number of at least `min` (and at most `max`), or undefined if not given. */
export function wholeNumber(
  text: string | undefined,
  option: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`Invalid ${option} ${JSON.stringify(text)}: use a whole number, ${range}`);
  }
  return n;
}

const UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `0.5`, `5m`, `1.5h`, `2d` -> seconds. */
export function delay(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  if (!m) {
    throw new UsageError(
      `Invalid ${option} ${JSON.stringify(text)}: use seconds, or 30s, 5m, 2h, 1d`,
    );
  }
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** An ISO 8601 time. */
export function time(text: string, option: string): Date {
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

/** Parsed JSON; `what` names the text in the error. */
export function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The value, if it is a JSON object. */
export function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Throws if there are positionals the command does not take. */
export function noMore(positionals: readonly string[], command: string): void {
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected ${JSON.stringify(positionals[0])}`, command);
  }
}

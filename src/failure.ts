/**
 * Turning a thrown value into what FAIL reports. Anything can be thrown, and
 * a handler is user code: an Error whose getters throw, a Symbol `name`, a
 * revoked Proxy. Reading it must never throw, or the job would go unreported.
 *
 * @module
 */

/**
 * What a FAIL reports about an error.
 *
 * @example
 * ```ts
 * import type { FailureDetails } from "@faktory-ts/faktory";
 * const f: FailureDetails = { errtype: "Timeout", message: "took too long", backtrace: [] };
 * ```
 */
export interface FailureDetails {
  /** The error's type, e.g. its class name. */
  readonly errtype: string;
  /** The error's message. */
  readonly message: string;
  /** Stack lines, innermost first. */
  readonly backtrace: readonly string[];
}

/** What the server keeps (errtype, message, lines); a line is cut as a message is. */
const MAX_ERRTYPE = 100;
const MAX_MESSAGE = 1000;
const MAX_LINES = 50;

/**
 * Describes any thrown value, and never throws: an error (any object) gives
 * its `name`, `message` and stack lines (without the first line, which
 * repeats the message); a `{ errtype, message, backtrace }` object is taken
 * as it is; anything else is reported as its string form. What cannot be
 * read is replaced by `Error`, the value's string form, or no lines. Fields
 * are trimmed to what the server keeps (100, 1000 characters, 50 lines).
 */
export function describeFailure(error: unknown): FailureDetails {
  if ((typeof error !== "object" && typeof error !== "function") || error === null) {
    return { errtype: "Error", message: printable(error).slice(0, MAX_MESSAGE), backtrace: [] };
  }
  const errtype = read(error, "errtype");
  const backtrace = read(error, "backtrace");
  if (typeof errtype === "string" && isArray(backtrace)) {
    // A FailureDetails: a hole or an unreadable line is an empty line, not
    // skipped (the lines keep their places) nor sent as null.
    const lines = Array.from({ length: Math.min(MAX_LINES, lengthOf(backtrace)) }, (_, i) => {
      const line = read(backtrace, i);
      return line === undefined || line === UNREADABLE ? "" : printable(line);
    });
    return trimmed(errtype, read(error, "message"), lines, error);
  }
  const stack = read(error, "stack");
  const frames = typeof stack === "string"
    ? stack.split("\n", 1000).filter((line) => /^\s+at\s/.test(line)).map((line) => line.trim())
    : [];
  return trimmed(read(error, "name"), read(error, "message"), frames, error);
}

/**
 * Any value as text, for a message or a log line; never throws. An object
 * without a useful string form is shown as JSON when it can be.
 */
export function printable(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    const text = String(value);
    if (!text.startsWith("[object ")) return text;
  } catch { /* no string form: try JSON */ }
  try {
    const json = JSON.stringify(value);
    if (typeof json === "string") return json;
  } catch { /* neither */ }
  return `Unprintable ${typeof value}`;
}

function trimmed(
  name: unknown,
  message: unknown,
  lines: readonly string[],
  error: object,
): FailureDetails {
  const text = message === UNREADABLE
    ? "The error's message could not be read"
    : printable(message === undefined ? error : message);
  return {
    errtype: (typeof name === "string" && name !== "" ? name : "Error").slice(0, MAX_ERRTYPE),
    message: text.slice(0, MAX_MESSAGE),
    backtrace: lines.slice(0, MAX_LINES).map((line) => line.slice(0, MAX_MESSAGE)),
  };
}

/** What {@linkcode read} gives where a getter or a Proxy trap throws. */
const UNREADABLE = Symbol("unreadable");

/** `value[key]`, or `UNREADABLE` where a getter or a Proxy trap throws. */
function read(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

function isArray(value: unknown): value is readonly unknown[] {
  try {
    return Array.isArray(value);
  } catch { // a revoked Proxy
    return false;
  }
}

function lengthOf(array: readonly unknown[]): number {
  const length = read(array, "length");
  return typeof length === "number" && length > 0 ? Math.floor(length) : 0;
}

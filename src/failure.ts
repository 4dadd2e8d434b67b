/**
 * Turning a thrown value into what FAIL reports.
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

/**
 * Describes any thrown value: an `Error` gives its `name`, `message` and
 * stack lines (without the first line, which repeats the message); anything
 * else is reported as its string form. Fields are trimmed to what the
 * server keeps (100, 1000 characters, 50 lines).
 */
export function describeFailure(error: unknown): FailureDetails {
  if (error instanceof Error) {
    const stack = typeof error.stack === "string" ? error.stack.split("\n") : [];
    const frames = stack.filter((line) => /^\s+at\s/.test(line)).map((line) => line.trim());
    return trim(error.name || "Error", error.message, frames);
  }
  if (isDetails(error)) return trim(error.errtype, error.message, error.backtrace);
  return trim("Error", typeof error === "string" ? error : safeString(error), []);
}

function isDetails(value: unknown): value is FailureDetails {
  const v = value as FailureDetails;
  return typeof v === "object" && v !== null && typeof v.errtype === "string" &&
    typeof v.message === "string" && Array.isArray(v.backtrace);
}

function trim(errtype: string, message: string, backtrace: readonly string[]): FailureDetails {
  return {
    errtype: errtype.slice(0, 100),
    message: message.slice(0, 1000),
    backtrace: backtrace.slice(0, 50).map(String),
  };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "Unprintable error";
  }
}

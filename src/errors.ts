/**
 * Errors thrown by the library. Each has a distinct `name` so callers can
 * branch on `instanceof` or on `error.name`, and keeps the underlying error
 * as `cause`.
 *
 * @module
 */

/**
 * Base class of every error this library throws.
 *
 * @example
 * ```ts
 * import { FaktoryError } from "@faktory-ts/faktory";
 * try {
 *   throw new FaktoryError("something went wrong");
 * } catch (e) {
 *   if (e instanceof FaktoryError) console.log(e.name, e.message);
 * }
 * ```
 */
export class FaktoryError extends Error {
  /** Creates an error with a message and an optional `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The connection could not be opened, was lost, or timed out. Retrying on a
 * new connection may succeed.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@faktory-ts/faktory";
 * const e = new ConnectionError("Connection to 127.0.0.1:7419 was refused");
 * console.log(e instanceof ConnectionError); // true
 * ```
 */
export class ConnectionError extends FaktoryError {}

/**
 * A command or connect attempt did not finish in time. The connection it ran
 * on is closed, since its reply may still arrive and would be misread.
 *
 * @example
 * ```ts
 * import { ConnectionError, TimeoutError } from "@faktory-ts/faktory";
 * const e = new TimeoutError("INFO got no reply within 5000 ms");
 * console.log(e instanceof ConnectionError); // true: a timeout is a connection failure
 * ```
 */
export class TimeoutError extends ConnectionError {}

/**
 * The server sent bytes that are not a valid reply. The connection is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@faktory-ts/faktory";
 * const e = new ProtocolError("Unexpected reply type '?'");
 * console.log(e.name); // "ProtocolError"
 * ```
 */
export class ProtocolError extends FaktoryError {}

/**
 * The server refused a command with an error reply such as `-ERR message`.
 * `code` is the first word (`ERR`, `NOTUNIQUE`, ...), `message` the rest.
 *
 * @example
 * ```ts
 * import { ServerError } from "@faktory-ts/faktory";
 * const e = new ServerError("ERR", "Job not found");
 * console.log(e.code, e.message); // "ERR" "Job not found"
 * ```
 */
export class ServerError extends FaktoryError {
  /** The error code the server sent, such as `ERR` or `NOTUNIQUE`. */
  readonly code: string;
  /** Creates a server error from its code and message. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A job was pushed with unique options while an identical job is already
 * queued (Faktory Enterprise `NOTUNIQUE`).
 *
 * @example
 * ```ts
 * import { NotUniqueError, ServerError } from "@faktory-ts/faktory";
 * const e = new NotUniqueError("NOTUNIQUE", "Job not unique");
 * console.log(e instanceof ServerError); // true
 * ```
 */
export class NotUniqueError extends ServerError {}

/**
 * The server answered that a command needs Faktory Enterprise.
 *
 * @example
 * ```ts
 * import { EnterpriseRequiredError } from "@faktory-ts/faktory";
 * const e = new EnterpriseRequiredError("ERR", "BATCH requires Faktory Enterprise");
 * console.log(e.code); // "ERR"
 * ```
 */
export class EnterpriseRequiredError extends ServerError {}

/**
 * The server refused the password (`-ERR Invalid password`), or one is
 * needed and none was given.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "@faktory-ts/faktory";
 * const e = new AuthenticationError("Faktory refused the password: check FAKTORY_URL");
 * console.log(e.name); // "AuthenticationError"
 * ```
 */
export class AuthenticationError extends FaktoryError {}

/**
 * Invalid input (a URL, queue name, job or option), refused before anything is
 * sent to the server. The message names what to fix.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@faktory-ts/faktory";
 * const e = new ValidationError('Queue name "a b" may only contain letters, digits, ".", "_" and "-"');
 * console.log(e.name); // "ValidationError"
 * ```
 */
export class ValidationError extends FaktoryError {}

/**
 * What became of each job of a bulk push, by jid.
 *
 * @example
 * ```ts
 * import type { BulkPushOutcome } from "@faktory-ts/faktory";
 * const outcome: BulkPushOutcome = { pushed: ["a1b2c3d4e5f6"], refused: {}, notPushed: [], unknown: [] };
 * ```
 */
export interface BulkPushOutcome {
  /** Jobs the server took. */
  readonly pushed: readonly string[];
  /** Jobs the server refused, each with its reason. */
  readonly refused: Readonly<Record<string, string>>;
  /** Jobs never sent, or refused as a whole: they are not on the server. */
  readonly notPushed: readonly string[];
  /**
   * Jobs of the batch under way when the connection failed: each may or may
   * not be on the server (look for it before pushing it again).
   */
  readonly unknown: readonly string[];
}

/**
 * A bulk push did not push every job: the server refused some, or a
 * connection failed part way (`cause` says why). Its fields say, by jid,
 * which jobs were pushed, refused, not pushed, or may have been pushed, so
 * a retry can send exactly the rest.
 *
 * @example
 * ```ts
 * import { BulkPushError } from "@faktory-ts/faktory";
 * const e = new BulkPushError({
 *   pushed: ["a1b2c3d4e5f6"],
 *   refused: { "0123456789ab": "jobtype is required" },
 *   notPushed: [],
 *   unknown: [],
 * });
 * console.log(e.message); // The server refused 1 of 2 jobs: jobtype is required; 1 pushed
 * ```
 */
export class BulkPushError extends FaktoryError implements BulkPushOutcome {
  /** Jobs the server took. */
  readonly pushed: readonly string[];
  /** Jobs the server refused, each with its reason. */
  readonly refused: Readonly<Record<string, string>>;
  /** Jobs never sent, or refused as a whole: they are not on the server. */
  readonly notPushed: readonly string[];
  /** Jobs of the batch under way when the connection failed: maybe on the server, maybe not. */
  readonly unknown: readonly string[];

  /** Creates the error from what became of each job; `cause` is the failure that stopped the push. */
  constructor(outcome: BulkPushOutcome, options?: ErrorOptions) {
    const refused = Object.entries(outcome.refused);
    const { pushed, notPushed, unknown } = outcome;
    const total = pushed.length + refused.length + notPushed.length + unknown.length;
    const counts = `${pushed.length} pushed` +
      (notPushed.length > 0 ? `, ${notPushed.length} not pushed` : "") +
      (unknown.length > 0 ? `, ${unknown.length} unknown (the batch under way)` : "");
    const cause = options?.cause;
    super(
      cause === undefined
        ? `The server refused ${refused.length} of ${total} jobs: ${refused[0]?.[1]}; ${counts}`
        : `A bulk push of ${total} jobs stopped: ${
          cause instanceof Error ? cause.message : String(cause)
        }; ${counts}${refused.length > 0 ? `, ${refused.length} refused` : ""}`,
      options,
    );
    this.pushed = pushed;
    this.refused = outcome.refused;
    this.notPushed = notPushed;
    this.unknown = unknown;
  }
}

/**
 * The server is shutting down (`-ERR shutdown in progress`) and did not run
 * the command. Like a lost connection it is worth retrying, so it is a
 * `ConnectionError`: reconnect loops and the worker's ACK/FAIL retries
 * treat it the same way.
 *
 * @example
 * ```ts
 * import { ConnectionError, ServerShuttingDownError } from "@faktory-ts/faktory";
 * const e = new ServerShuttingDownError("Faktory is shutting down");
 * console.log(e instanceof ConnectionError); // true
 * ```
 */
export class ServerShuttingDownError extends ConnectionError {}

/**
 * No handler is registered for the job's jobtype; the job was failed.
 *
 * @example
 * ```ts
 * import { UnknownJobTypeError } from "@faktory-ts/faktory";
 * console.log(new UnknownJobTypeError("No handler for Foo").name); // UnknownJobTypeError
 * ```
 */
export class UnknownJobTypeError extends FaktoryError {}

/**
 * The job type's schema refused the job's arguments; the job was failed.
 *
 * @example
 * ```ts
 * import { InvalidArgumentsError } from "@faktory-ts/faktory";
 * console.log(new InvalidArgumentsError("bad args").name); // InvalidArgumentsError
 * ```
 */
export class InvalidArgumentsError extends FaktoryError {}

/**
 * The job ran past its reservation (less the margin) and was failed so the
 * server retries it; or the worker stopped before it finished.
 *
 * @example
 * ```ts
 * import { JobTimeoutError } from "@faktory-ts/faktory";
 * console.log(new JobTimeoutError("too slow").name); // JobTimeoutError
 * ```
 */
export class JobTimeoutError extends FaktoryError {}

/**
 * The worker stopped while the job was running; the job was failed so the
 * server retries it.
 *
 * @example
 * ```ts
 * import { WorkerStoppedError } from "@faktory-ts/faktory";
 * console.log(new WorkerStoppedError("stopping").name); // WorkerStoppedError
 * ```
 */
export class WorkerStoppedError extends FaktoryError {}

/**
 * The function that filled a batch threw, so the batch was not committed:
 * its callbacks never fire, and the server drops it once it expires (the
 * jobs pushed into it still run). `bid` names it; `cause` is what was thrown.
 *
 * @example
 * ```ts
 * import { BatchNotCommittedError } from "@faktory-ts/faktory";
 * const e = new BatchNotCommittedError("b-4f2a", new Error("disk full"));
 * console.log(e.message); // Batch "b-4f2a" was not committed: disk full
 * ```
 */
export class BatchNotCommittedError extends FaktoryError {
  /** The batch that was left open. */
  readonly bid: string;

  /** `cause` is what the function filling the batch threw. */
  constructor(bid: string, cause: unknown) {
    super(`Batch ${show(bid)} was not committed: ${(cause as Error)?.message ?? show(cause)}`, {
      cause,
    });
    this.bid = bid;
  }
}

/**
 * A value as error messages show it: strings quoted (and cut at 80
 * characters), numbers as they are, objects by their JSON or their kind.
 * Never throws, whatever the value.
 */
export function show(value: unknown): string {
  const cut = (text: string) => text.length > 80 ? `${text.slice(0, 80)}…` : text;
  try {
    switch (typeof value) {
      case "string":
        return JSON.stringify(cut(value));
      case "bigint":
        return `${value}n`;
      case "function":
        return "a function";
      case "symbol":
        return value.toString();
      case "object":
        break;
      default:
        return String(value);
    }
    if (value === null) return "null";
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? "Invalid Date" : JSON.stringify(value.toISOString());
    }
    const proto = Object.getPrototypeOf(value);
    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      try {
        return cut(JSON.stringify(value));
      } catch {
        return Array.isArray(value) ? "an array" : "an object";
      }
    }
    const name = (proto?.constructor as { name?: unknown } | undefined)?.name;
    return typeof name === "string" && name !== ""
      ? `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`
      : "an object";
  } catch {
    return "a value that cannot be shown";
  }
}

/**
 * Builds the typed error for an error reply: `NOTUNIQUE` and Enterprise-only
 * refusals get their own classes.
 */
export function serverError(line: string): ServerError | ServerShuttingDownError {
  const space = line.indexOf(" ");
  const code = space < 0 ? line : line.slice(0, space);
  const message = space < 0 ? line : line.slice(space + 1);
  if (code === "NOTUNIQUE") return new NotUniqueError(code, message);
  // Both come from a server that is stopping (the second once its Redis has).
  if (/shutdown in progress|redis: client is closed/i.test(message)) {
    return new ServerShuttingDownError(
      "Faktory is shutting down and did not run the command: retry once it is back",
    );
  }
  if (/enterprise/i.test(message)) {
    // Faktory 1.9.4 and 1.10.0 answer BATCH and TRACK with e.g.
    // "-ERR batch subsystem is only available in Faktory Enterprise".
    return new EnterpriseRequiredError(
      code,
      `${message.charAt(0).toUpperCase()}${
        message.slice(1)
      }: connect to a Faktory Enterprise server to use it`,
    );
  }
  return new ServerError(code, message);
}

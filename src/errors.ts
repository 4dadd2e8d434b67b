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

/**
 * The errors the socket adapters raise, each with a hint on what to check.
 *
 * @module
 */

import { ConnectionError, TimeoutError } from "../errors.ts";

/**
 * `host:port`, with IPv6 addresses in brackets.
 *
 * @example
 * ```ts
 * import { address } from "./errors.ts";
 * console.log(address("::1", 7419)); // "[::1]:7419"
 * ```
 */
export function address(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** The error code (`ECONNREFUSED`, ...) if the runtime gave one, else the message. */
function reason(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code !== "") return code;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * The error for a failed TCP connect, with a hint on what to check.
 *
 * @example
 * ```ts
 * import { connectFailed } from "./errors.ts";
 * const cause = Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" });
 * console.log(connectFailed("127.0.0.1", 7419, cause).message);
 * // Could not connect to 127.0.0.1:7419 (ECONNREFUSED): is Faktory running there?
 * ```
 */
export function connectFailed(hostname: string, port: number, cause: unknown): ConnectionError {
  const why = reason(cause);
  const hint = why === "ECONNREFUSED"
    ? "is Faktory running there?"
    : /ENOTFOUND|EAI_|lookup|DNS/i.test(why)
    ? "check the host name"
    : /allow-net/.test(why)
    ? "run Deno with --allow-net"
    : "check the host, the port and the network";
  return new ConnectionError(`Could not connect to ${address(hostname, port)} (${why}): ${hint}`, {
    cause,
  });
}

/**
 * The error for a failed TLS handshake (untrusted certificate, wrong name,
 * a server that does not speak TLS).
 *
 * @example
 * ```ts
 * import { tlsFailed } from "./errors.ts";
 * console.log(tlsFailed("localhost", 7419, new Error("bad certificate")).message);
 * ```
 */
export function tlsFailed(hostname: string, port: number, cause: unknown): ConnectionError {
  // OpenSSL messages (Node) are long and multi-line; its short `reason` reads better.
  const { reason, code } = (cause ?? {}) as { reason?: unknown; code?: unknown };
  let why = typeof reason === "string" && reason !== ""
    ? reason
    : (cause instanceof Error ? cause.message : String(cause)).split("\n")[0]?.trim();
  if (typeof code === "string" && !why?.includes(code)) why += `, ${code}`;
  return new ConnectionError(
    `TLS handshake with ${address(hostname, port)} failed (${why}): check the CA certificate, ` +
      "the server name and that the server uses TLS",
    { cause },
  );
}

/**
 * The error for a connect cancelled through its signal: a `TimeoutError` when
 * the signal's reason is a timeout (as from `AbortSignal.timeout`).
 *
 * @example
 * ```ts
 * import { connectAborted } from "./errors.ts";
 * const signal = AbortSignal.abort();
 * console.log(connectAborted("localhost", 7419, signal).message);
 * // Connecting to localhost:7419 was aborted
 * ```
 */
export function connectAborted(
  hostname: string,
  port: number,
  signal: AbortSignal,
): ConnectionError {
  const cause: unknown = signal.reason;
  const where = address(hostname, port);
  return (cause as { name?: unknown } | null)?.name === "TimeoutError"
    ? new TimeoutError(`Connecting to ${where} timed out`, { cause })
    : new ConnectionError(`Connecting to ${where} was aborted`, { cause });
}

/**
 * The error for an established connection that failed (reset, broken pipe).
 *
 * @example
 * ```ts
 * import { connectionLost } from "./errors.ts";
 * const cause = Object.assign(new Error("reset"), { code: "ECONNRESET" });
 * console.log(connectionLost("localhost", 7419, cause).message);
 * // Connection to localhost:7419 was lost (ECONNRESET)
 * ```
 */
export function connectionLost(hostname: string, port: number, cause: unknown): ConnectionError {
  return new ConnectionError(
    `Connection to ${address(hostname, port)} was lost (${reason(cause)})`,
    { cause },
  );
}

/**
 * The error for writing to a connection that is already closed.
 *
 * @example
 * ```ts
 * import { connectionClosed } from "./errors.ts";
 * console.log(connectionClosed("localhost", 7419).message);
 * // Connection to localhost:7419 is closed
 * ```
 */
export function connectionClosed(hostname: string, port: number): ConnectionError {
  return new ConnectionError(`Connection to ${address(hostname, port)} is closed`);
}

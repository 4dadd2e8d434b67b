/**
 * The logging interface. `console`, `@std/log` loggers and pino all satisfy
 * it, so the library needs no logging dependency.
 *
 * @module
 */

/**
 * Where the library writes what it does. Pass `console` (the default), a
 * pino or `@std/log` logger, or {@linkcode silentLogger}.
 *
 * @example
 * ```ts
 * import type { Logger } from "@faktory-ts/faktory";
 * const lines: string[] = [];
 * const logger: Logger = {
 *   debug: (...a) => lines.push(a.join(" ")),
 *   info: (...a) => lines.push(a.join(" ")),
 *   warn: (...a) => lines.push(a.join(" ")),
 *   error: (...a) => lines.push(a.join(" ")),
 * };
 * ```
 */
export interface Logger {
  /** Detail useful when debugging. */
  debug(message: string, ...data: unknown[]): void;
  /** Normal events: a worker started or stopped. */
  info(message: string, ...data: unknown[]): void;
  /** Something to look at: a job failed, a reconnect. */
  warn(message: string, ...data: unknown[]): void;
  /** Something broke. */
  error(message: string, ...data: unknown[]): void;
}

const nothing = (): void => {};

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * import { silentLogger } from "@faktory-ts/faktory";
 * silentLogger.info("not printed");
 * ```
 */
export const silentLogger: Logger = {
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
};

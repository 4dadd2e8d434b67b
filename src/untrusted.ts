/**
 * Calling user code that has no say in a job's outcome: loggers and event
 * listeners. Whatever it throws, or rejects with when it returns a promise
 * (or any thenable, even one whose `then` throws), stays there: the caller
 * carries on, and no unhandled rejection can end the process.
 *
 * @module
 */

import type { Logger } from "./logger.ts";

/**
 * Calls `call`; what it throws, or what a thenable it returns rejects with,
 * goes to `onError` (itself guarded: a throw there is dropped).
 */
export function callUntrusted(call: () => unknown, onError: (error: unknown) => void): void {
  const report = (error: unknown) => {
    try {
      onError(error);
    } catch { /* nowhere left to report it */ }
  };
  try {
    const result = call();
    if ((typeof result === "object" && result !== null) || typeof result === "function") {
      const then = (result as { then?: unknown }).then;
      if (typeof then === "function") then.call(result, undefined, report);
    }
  } catch (error) {
    report(error);
  }
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
const nothing = () => {};
const guarded = new WeakSet<Logger>();

/**
 * `logger`, with each call guarded: a logger that throws or rejects drops
 * that line instead of breaking what was being logged. Each method is looked
 * up at call time and called on `logger` (pino's methods need their `this`).
 */
export function guardLogger(logger: Logger): Logger {
  if (guarded.has(logger)) return logger;
  const safe = Object.fromEntries(
    LEVELS.map((level) => [
      level,
      (message: string, ...data: unknown[]) =>
        callUntrusted(() => logger[level](message, ...data), nothing),
    ]),
  ) as unknown as Logger;
  guarded.add(safe);
  return safe;
}

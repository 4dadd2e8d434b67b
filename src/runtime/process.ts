/**
 * What Node and Bun share: Node's `process` and `os` for the environment,
 * host name, pid, memory and signals.
 *
 * @module
 */

import { hostname } from "node:os";
import process from "node:process";
import type { Runtime } from "./types.ts";

/**
 * The parts of a {@linkcode Runtime} besides sockets, for Node and Bun.
 *
 * @example
 * ```ts ignore
 * import { processRuntime } from "./process.ts";
 * console.log(processRuntime.hostname(), processRuntime.pid());
 * ```
 */
export const processRuntime: Omit<Runtime, "name" | "connect"> = {
  env: (name) => process.env[name],
  hostname: () => hostname(),
  pid: () => process.pid,
  rssKb: () => Math.round(process.memoryUsage.rss() / 1024),
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => void process.off(signal, handler);
  },
};

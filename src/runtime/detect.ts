/**
 * Picks the adapter for the runtime we run on.
 *
 * @module
 */

import { bunRuntime } from "./bun.ts";
import { denoRuntime } from "./deno.ts";
import { nodeRuntime } from "./node.ts";
import type { Runtime } from "./types.ts";

/**
 * The built-in {@linkcode Runtime} for Bun, Deno or Node, detected in that
 * order through the `Bun` and `Deno` globals.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@faktory-ts/faktory";
 * const runtime = detectRuntime();
 * console.log(runtime.name, runtime.pid());
 * ```
 */
export function detectRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun !== undefined ? bunRuntime : g.Deno !== undefined ? denoRuntime : nodeRuntime;
}

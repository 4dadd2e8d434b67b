/**
 * Finds the adapter of the runtime we run on and imports that one alone,
 * through a dynamic `import()` each: Deno never loads Node's built-ins, Node
 * never evaluates the Deno adapter. The default of `mod.ts`.
 *
 * @module
 */

import { ConnectionError } from "../errors.ts";
import type { RuntimeDefault } from "./default.ts";
import type { Runtime } from "./types.ts";

interface Globals {
  Bun?: unknown;
  Deno?: { env: { get(name: string): string | undefined } };
  process?: { env?: Record<string, string | undefined> };
  navigator?: { userAgent?: string };
}

/**
 * The built-in {@linkcode Runtime} for Bun, Deno or Node, detected in that
 * order through the `Bun` and `Deno` globals. Only the adapter found is
 * imported. On Cloudflare Workers it rejects: use the
 * `@faktory-ts/faktory/cloudflare` entry point there.
 *
 * @example
 * ```ts
 * import { loadRuntime } from "@faktory-ts/faktory";
 * const runtime = await loadRuntime();
 * console.log(runtime.name, runtime.pid());
 * ```
 */
export function loadRuntime(): Promise<Runtime> {
  const g = globalThis as Globals;
  if (g.Bun !== undefined) return import("./bun.ts").then((m) => m.bunRuntime);
  if (g.Deno !== undefined) return import("./deno.ts").then((m) => m.denoRuntime);
  if (g.navigator?.userAgent === "Cloudflare-Workers") {
    return Promise.reject(
      new ConnectionError(
        'On Cloudflare Workers import from "@faktory-ts/faktory/cloudflare" instead',
      ),
    );
  }
  return import("./node.ts").then((m) => m.nodeRuntime);
}

/**
 * An environment variable, read through the `Deno` or `process` global so
 * that options can be checked before any adapter is loaded.
 */
function env(name: string): string | undefined {
  const g = globalThis as Globals;
  try {
    return g.Deno !== undefined ? g.Deno.env.get(name) : g.process?.env?.[name];
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/** The default runtime of `mod.ts`: Deno, Bun or Node, detected. */
export const detected: RuntimeDefault = { env, load: loadRuntime };

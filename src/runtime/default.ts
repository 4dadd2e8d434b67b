/**
 * The runtime used when the `runtime` option is absent. The core imports no
 * adapter: each entry point names its own, so that a bundle of one entry
 * point holds only that entry point's adapters. `mod.ts` detects Deno, Bun
 * or Node and imports that adapter alone, on first connect;
 * `src/cloudflare.ts` uses the Workers adapter.
 *
 * @module
 */

import { ConnectionError } from "../errors.ts";
import type { Runtime } from "./types.ts";

/** What an entry point provides: environment variables now, the socket adapter when connecting. */
export interface RuntimeDefault {
  /** An environment variable, or `undefined`; read synchronously while options are checked. */
  env(name: string): string | undefined;
  /** The adapter; called on each connect, so it should cache what it loads. */
  load(): Promise<Runtime>;
}

let current: RuntimeDefault = {
  env: () => undefined,
  load: () =>
    Promise.reject(
      new ConnectionError(
        'No socket adapter: import "@faktory-ts/faktory" (Deno, Bun, Node) or ' +
          '"@faktory-ts/faktory/cloudflare" (Cloudflare Workers), or pass the runtime option',
      ),
    ),
};

/** Sets the default; called once by an entry point as it loads. */
export function setDefaultRuntime(runtime: RuntimeDefault): void {
  current = runtime;
}

/** Reads the environment of `runtime`, or of the default one when it is absent. */
export function envOf(runtime: Runtime | undefined): (name: string) => string | undefined {
  return runtime === undefined ? (name) => current.env(name) : (name) => runtime.env(name);
}

/** `runtime`, or the default one when it is absent. */
export function runtimeOf(runtime: Runtime | undefined): Promise<Runtime> {
  return runtime === undefined ? current.load() : Promise.resolve(runtime);
}

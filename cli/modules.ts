/**
 * The modules `faktory-ts work` runs: each one's default export registers
 * handlers (the function an app also passes to `./testing`), and it may
 * export `startup`, `quiet` and `shutdown` hooks.
 *
 * @module
 */

import { existsSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type {
  HandlerRegistry,
  JobHandler,
  JobMiddleware,
  JobType,
  Worker,
  WorkerHooks,
} from "../mod.ts";
import { UsageError } from "./args.ts";

const HOOKS = ["startup", "quiet", "shutdown"] as const;

/** The modules, loaded: their hooks, and their registration to run. */
export interface Modules {
  /** Every module's hooks, composed (see {@linkcode composeHooks}). */
  readonly hooks: WorkerHooks;
  /** Runs each module's registration function on `worker`; resolves with the jobtypes registered. */
  register(worker: HandlerRegistry): Promise<readonly string[]>;
}

/** A module of handlers, loaded. */
interface HandlerModule {
  readonly name: string;
  readonly register: (registry: HandlerRegistry) => unknown;
  readonly hooks: WorkerHooks;
}

const EXAMPLE = 'export default function (registry) { registry.register("SendEmail", handler) }';

/**
 * The URL to import a module by: a URL as it is, a path relative to the
 * working directory, which must exist (a {@linkcode UsageError} if not).
 */
export function moduleUrl(spec: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(spec)) return spec;
  const file = path.resolve(spec);
  if (!existsSync(file)) {
    throw new UsageError(`Module ${spec} not found: there is no ${file}`);
  }
  return pathToFileURL(file).href;
}

/** Imports one module and checks its exports. */
async function load(spec: string): Promise<HandlerModule> {
  const url = moduleUrl(spec);
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (e) {
    throw new UsageError(
      `Cannot load module ${spec}: ${(e as Error)?.message ?? e}${tsHint(spec, e)}`,
    );
  }
  // A CommonJS module compiled from `export default` has it one level down.
  let register = module.default;
  if (typeof register === "object" && register !== null && "default" in register) {
    register = (register as Record<string, unknown>).default;
  }
  if (typeof register !== "function") {
    throw new UsageError(
      register === undefined
        ? `Module ${spec} has no default export: export the function that registers its handlers, e.g. ${EXAMPLE}`
        : `The default export of ${spec} is not a function: export the function that registers its handlers, e.g. ${EXAMPLE}`,
    );
  }
  const hooks: WorkerHooks = {};
  for (const name of HOOKS) {
    const hook = module[name];
    if (hook === undefined) continue;
    if (typeof hook !== "function") {
      throw new UsageError(
        `The ${name} export of ${spec} is not a function: export (worker) => { ... }`,
      );
    }
    hooks[name] = hook as (worker: Worker) => void | PromiseLike<unknown>;
  }
  return { name: spec, register: register as HandlerModule["register"], hooks };
}

/** Why Node could not load a TypeScript module, and what to do. */
function tsHint(spec: string, error: unknown): string {
  if (!/\.[mc]?tsx?$/.test(spec) || "Deno" in globalThis || "Bun" in globalThis) return "";
  const code = (error as { code?: string })?.code;
  return code === "ERR_UNKNOWN_FILE_EXTENSION" || code === "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX" ||
      code === "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING" || code === "ERR_REQUIRE_ESM"
    ? '. Node runs TypeScript only with a loader: NODE_OPTIONS="--import tsx" ' +
      "(npm install -D tsx), or Node 22.6+ with --experimental-strip-types (the default " +
      "from 23.6; erasable syntax only), or compile the module to JavaScript"
    : "";
}

/**
 * Imports each module and checks what it exports. A module that cannot be
 * loaded, whose default export is not a function, or whose registration
 * throws or registers nothing (no handler, middleware or hook) is a
 * {@linkcode UsageError}, and so are modules that register no handler at all.
 */
export async function loadModules(specs: readonly string[]): Promise<Modules> {
  const modules: HandlerModule[] = [];
  for (const spec of specs) modules.push(await load(spec));
  return {
    hooks: composeHooks(modules.map((m) => m.hooks)),
    register: async (worker) => {
      const jobtypes: string[] = [];
      for (const module of modules) {
        let added = 0;
        // Counts what the module adds; everything goes to the worker as it is.
        const registry: HandlerRegistry = {
          register<Args extends readonly unknown[]>(
            type: JobType<Args> | string,
            handler: JobHandler<Args>,
          ) {
            worker.register(type, handler);
            jobtypes.push(typeof type === "string" ? type : type.jobtype);
            added++;
            return this;
          },
          use(middleware: JobMiddleware) {
            worker.use(middleware);
            added++;
            return this;
          },
        };
        try {
          await module.register(registry);
        } catch (e) {
          throw new UsageError(
            `Module ${module.name} failed to register its handlers: ${(e as Error)?.message ?? e}`,
          );
        }
        if (added === 0 && Object.keys(module.hooks).length === 0) {
          throw new UsageError(
            `Module ${module.name} registered nothing: its default export must call registry.register(jobtype, handler)`,
          );
        }
      }
      if (jobtypes.length === 0) {
        throw new UsageError(
          `No handler was registered by ${
            specs.join(", ")
          }: call registry.register(jobtype, handler) in a default export`,
        );
      }
      return [...new Set(jobtypes)];
    },
  };
}

/**
 * One set of hooks from many, module by module: startups and quiets run in
 * module order, each awaited before the next; shutdowns in reverse order, so
 * a module is shut down before those it was started after. A startup that
 * throws stops the ones after it; every quiet and shutdown runs, and the
 * first error is thrown once they all have.
 */
export function composeHooks(list: readonly WorkerHooks[]): WorkerHooks {
  const composed: WorkerHooks = {};
  for (const name of HOOKS) {
    const hooks = list.flatMap((h) => (h[name] ? [h[name]!.bind(h)] : []));
    if (name === "shutdown") hooks.reverse();
    if (hooks.length === 0) continue;
    composed[name] = async (worker) => {
      let failed: { error: unknown } | undefined;
      for (const hook of hooks) {
        try {
          await hook(worker);
        } catch (error) {
          if (name === "startup") throw error;
          failed ??= { error };
        }
      }
      if (failed) throw failed.error;
    };
  }
  return composed;
}

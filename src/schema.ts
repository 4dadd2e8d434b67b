/**
 * Job arguments checked by a schema: the Standard Schema interface (which
 * zod, valibot, arktype and others implement), copied from the spec as it
 * invites so the library depends on none of them, and the one check a push
 * and a worker both run.
 *
 * @module
 */

import { type InvalidArgumentsError, show, ValidationError } from "./errors.ts";

/**
 * A Standard Schema, version 1 (standardschema.dev): what zod (3.24 and
 * later), valibot (1.0 and later), arktype (2.0 and later) and other schema
 * libraries make. A job type's `schema` is one for its argument list. This
 * is the spec's interface (`@standard-schema/spec`), copied so the library
 * depends on no schema library.
 *
 * @example
 * ```ts
 * import type { StandardSchemaV1 } from "@faktory-ts/faktory";
 * // By hand; zod, valibot and arktype make these for you.
 * const OnePositive: StandardSchemaV1<[number]> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) =>
 *       Array.isArray(value) && value.length === 1 && typeof value[0] === "number" && value[0] > 0
 *         ? { value: value as [number] }
 *         : { issues: [{ message: "Expected one positive number" }] },
 *   },
 * };
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The version of the standard. */
    readonly version: 1;
    /** The library that made the schema. */
    readonly vendor: string;
    /** Checks a value: its output, or the issues found; maybe asynchronously. */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    /** The input and output types, for the compiler only. */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/**
 * What a {@linkcode StandardSchemaV1} `validate` returns: the output, or the
 * issues found (a falsy `issues` means success).
 *
 * @example
 * ```ts
 * import type { StandardSchemaResult } from "@faktory-ts/faktory";
 * const refused: StandardSchemaResult<[string]> = {
 *   issues: [{ message: "Invalid email address", path: [0] }],
 * };
 * ```
 */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
    readonly issues: ReadonlyArray<{
      /** What is wrong. */
      readonly message: string;
      /** Where, from the checked value: keys, or segments holding a key. */
      readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
    }>;
  };

/**
 * A Standard Schema made of a function that returns the arguments (changed
 * or not) or throws, whose message becomes the issue: a hand-written check
 * without a schema library. The function may be async.
 *
 * @example
 * ```ts
 * import { defineJob, schemaFrom } from "@faktory-ts/faktory";
 * const Resize = defineJob("Resize", {
 *   schema: schemaFrom((args): [imageId: number, width: number] => {
 *     if (args.length !== 2 || !args.every(Number.isInteger)) {
 *       throw new TypeError("Expected two whole numbers");
 *     }
 *     return args as [number, number];
 *   }),
 * });
 * ```
 */
export function schemaFrom<
  Parsed extends readonly unknown[],
  Args extends readonly unknown[] = Parsed,
>(parse: (args: unknown[]) => Parsed | PromiseLike<Parsed>): StandardSchemaV1<Args, Parsed> {
  if (typeof parse !== "function") {
    throw new ValidationError(
      `Invalid parse ${show(parse)}: use a function that returns the arguments or throws`,
    );
  }
  return {
    "~standard": {
      version: 1,
      vendor: "faktory-ts",
      validate: async (value) => {
        try {
          return { value: await parse(value as unknown[]) };
        } catch (e) {
          return { issues: [{ message: messageOf(e) }] };
        }
      },
    },
  };
}

/** Whether `value` is a Standard Schema (arktype's are functions). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (typeof value === "object" || typeof value === "function") && value !== null
    ? (value as { "~standard"?: { version?: unknown; validate?: unknown } })["~standard"]
    : undefined;
  return typeof props === "object" && props !== null && props.version === 1 &&
    typeof props.validate === "function";
}

/** Issues listed in a message at most; the rest are counted. */
const MAX_ISSUES = 10;

/**
 * Checks a job's arguments against its type's schema and resolves with the
 * schema's output. Refusals are a `ValidationError` at push and an
 * `InvalidArgumentsError` in a worker (`Refusal`), listing each issue's path
 * (from `path`, `args` or `argsList[3]`) and message.
 */
export async function parseArgs(
  schema: StandardSchemaV1,
  jobtype: string,
  args: readonly unknown[],
  Refusal: typeof ValidationError | typeof InvalidArgumentsError,
  path = "args",
): Promise<unknown[]> {
  let result: StandardSchemaResult<unknown>;
  try {
    result = await schema["~standard"].validate(args);
  } catch (cause) {
    throw new Refusal(`The schema of ${jobtype} threw: ${messageOf(cause)}`, { cause });
  }
  if (result.issues) {
    const listed = result.issues.slice(0, MAX_ISSUES).map((issue) =>
      `${path}${(issue.path ?? []).map(segment).join("")}: ${issue.message}`
    );
    const more = result.issues.length - listed.length;
    if (more > 0) listed.push(`and ${more} more`);
    throw new Refusal(`Invalid arguments for ${jobtype}: ${listed.join("; ")}`);
  }
  if (!Array.isArray(result.value)) {
    throw new Refusal(
      `The schema of ${jobtype} returned ${show(result.value)}, not a list of arguments: ` +
        "use a tuple or array schema",
    );
  }
  return result.value;
}

/** One step of an issue's path, as json.ts writes paths: `[0]`, `.name`, `["a b"]`. */
function segment(step: PropertyKey | { readonly key: PropertyKey }): string {
  const key = typeof step === "object" && step !== null ? step.key : step;
  if (typeof key === "symbol") return `[${key.toString()}]`;
  if (typeof key === "number" || /^\d+$/.test(key)) return `[${String(key)}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${show(key)}]`;
}

function messageOf(e: unknown): string {
  try {
    return String((e as Error)?.message ?? e);
  } catch {
    return "an error that cannot be shown";
  }
}

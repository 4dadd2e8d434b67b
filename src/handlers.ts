/**
 * Handlers and job middleware: registering them, and running one job
 * through them. Shared by the {@linkcode Worker} and the test doubles of
 * `./testing`, so a job runs the same way in both.
 *
 * @module
 */

import type { JobContext } from "./context.ts";
import { InvalidArgumentsError, UnknownJobTypeError, ValidationError } from "./errors.ts";
import { checkValue, JOB_OPTIONS, JOBTYPE } from "./rules.ts";
import type { Job, JobType } from "./job.ts";
import { parseArgs, type StandardSchemaV1 } from "./schema.ts";

/**
 * Runs one job. Resolving ACKs the job; throwing (or rejecting) FAILs it with
 * the error's name, message and stack. `Ctx` is what the worker's `context`
 * option adds to the {@linkcode JobContext}.
 *
 * @example
 * ```ts
 * import type { JobHandler } from "@faktory-ts/faktory";
 * const greet: JobHandler<[name: string]> = (job) => {
 *   console.log(`Hello, ${job.args[0]}`);
 * };
 * interface Db { save(name: string): Promise<void> }
 * const save: JobHandler<[name: string], { db: Db }> = (job, { db }) => db.save(job.args[0]);
 * ```
 */
export type JobHandler<
  Args extends readonly unknown[] = readonly unknown[],
  Ctx extends object = object,
> = (job: Job<Args>, context: JobContext & Ctx) => unknown;

/**
 * Runs around every job, first one outermost: time it, trace it, change the
 * error. Call `next` to run the rest; throw to fail the job. It sees every
 * job fetched, as fetched: the handler is looked up and the arguments are
 * checked against the job type's schema inside `next`, so a job with no
 * handler or refused arguments fails through it too.
 *
 * @example
 * ```ts
 * import type { JobMiddleware } from "@faktory-ts/faktory";
 * const timing: JobMiddleware = async (job, ctx, next) => {
 *   const start = performance.now();
 *   try {
 *     await next();
 *   } finally {
 *     ctx.logger.info(`${job.jobtype} ${job.jid} took ${performance.now() - start} ms`);
 *   }
 * };
 * ```
 */
export type JobMiddleware<Ctx extends object = object> = (
  job: Job,
  context: JobContext & Ctx,
  next: () => Promise<void>,
) => Promise<void>;

/**
 * Where handlers and job middleware are registered: a {@linkcode Worker}, or
 * the test doubles of `@faktory-ts/faktory/testing`. Write the registration
 * once against this interface and use it in production and in tests. `Ctx`
 * is what the registry's `context` option adds to every handler's context:
 * with a `HandlerRegistry<{ db: Db }>`, handlers and middleware see `ctx.db`
 * typed.
 *
 * @example
 * ```ts
 * import { defineJob, type HandlerRegistry } from "@faktory-ts/faktory";
 * const SendEmail = defineJob<[to: string]>("SendEmail");
 * export function registerHandlers(registry: HandlerRegistry): void {
 *   registry.register(SendEmail, (job, { logger }) => logger.info(`mail to ${job.args[0]}`));
 * }
 * ```
 */
export interface HandlerRegistry<Ctx extends object = object> {
  /** Registers the handler for a job type or a plain jobtype name (see {@linkcode Worker.register}). */
  register<Parsed extends readonly unknown[]>(
    type: JobType<readonly unknown[], Parsed> | string,
    handler: JobHandler<Parsed, Ctx>,
  ): this;
  /** Adds middleware around every job (see {@linkcode Worker.use}). */
  use(middleware: JobMiddleware<Ctx>): this;
}

interface Registered {
  readonly handler: JobHandler;
  readonly schema: StandardSchemaV1 | undefined;
}

/** The handlers by jobtype and the middleware around them. */
export class Handlers {
  readonly #handlers = new Map<string, Registered>();
  // Contexts carry the application's values here: typed by the registry, not this class.
  // deno-lint-ignore no-explicit-any
  readonly #middleware: JobMiddleware<any>[];

  /** Starts with this middleware, first one outermost. */
  // deno-lint-ignore no-explicit-any
  constructor(middleware: readonly JobMiddleware<any>[] = []) {
    this.#middleware = [...middleware];
  }

  /** Registers (or replaces) the handler for a job type or jobtype name. */
  register<Parsed extends readonly unknown[]>(
    type: JobType<readonly unknown[], Parsed> | string,
    // deno-lint-ignore no-explicit-any
    handler: JobHandler<Parsed, any>,
  ): void {
    const jobtype = typeof type === "string" ? type : (type as JobType | null)?.jobtype;
    checkValue(JOBTYPE, jobtype, "jobtype");
    if (typeof handler !== "function") {
      throw new ValidationError(`The handler for ${jobtype} is not a function`);
    }
    const schema = typeof type === "string" ? undefined : type.schema;
    if (schema !== undefined) checkValue(JOB_OPTIONS.schema!, schema, "schema");
    this.#handlers.set(jobtype!, { handler: handler as unknown as JobHandler, schema });
  }

  /** Adds middleware inside what was added before. */
  // deno-lint-ignore no-explicit-any
  use(middleware: JobMiddleware<any>): void {
    if (typeof middleware !== "function") {
      throw new ValidationError("Middleware must be a function");
    }
    this.#middleware.push(middleware);
  }

  /**
   * Runs the job through the middleware; innermost, finds its handler (else
   * `UnknownJobTypeError`), checks its arguments against the job type's
   * schema (else `InvalidArgumentsError`) and runs the handler on the
   * schema's output.
   */
  run(job: Job, context: JobContext): Promise<unknown> {
    const middleware = this.#middleware;
    // Middleware is user code: what it returns may be anything, a thenable
    // whose `then` throws included. Promise.resolve turns each into a promise
    // that settles as it does.
    const run = (i: number): Promise<unknown> => {
      const m = middleware[i];
      return m
        ? Promise.resolve(m(job, context, () => run(i + 1).then(() => {})))
        : this.#handle(job, context);
    };
    try {
      return run(0);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #handle(job: Job, context: JobContext): Promise<unknown> {
    try {
      const registered = this.#handlers.get(job.jobtype);
      if (registered === undefined) {
        throw new UnknownJobTypeError(
          `No handler is registered for jobtype ${JSON.stringify(job.jobtype)}`,
        );
      }
      const { handler, schema } = registered;
      if (schema === undefined) return Promise.resolve(handler(job, context));
      return parseArgs(schema, job.jobtype, job.args, InvalidArgumentsError).then((args) => {
        (job.payload as { args: unknown }).args = args;
        return handler(job, context);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

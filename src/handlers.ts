/**
 * Handlers and job middleware: registering them, and running one job
 * through them. Shared by the {@linkcode Worker} and the test doubles of
 * `./testing`, so a job runs the same way in both.
 *
 * @module
 */

import { InvalidArgumentsError, UnknownJobTypeError, ValidationError } from "./errors.ts";
import { describeFailure } from "./failure.ts";
import { checkValue, JOB_OPTIONS, JOBTYPE } from "./rules.ts";
import type { Job, JobType } from "./job.ts";
import type { Logger } from "./logger.ts";

/**
 * What a handler gets besides its job.
 *
 * @example
 * ```ts
 * import type { JobContext } from "@faktory-ts/faktory";
 * async function handler(ctx: JobContext) {
 *   const res = await fetch("https://example.com", { signal: ctx.signal });
 *   ctx.logger.info(`status ${res.status}`);
 * }
 * ```
 */
export interface JobContext {
  /**
   * Aborts shortly before the job's reservation ends, or when a stopping
   * worker's shutdown timeout is over. Pass it to whatever the handler awaits.
   */
  readonly signal: AbortSignal;
  /** The worker's logger. */
  readonly logger: Logger;
  /** The worker's id. */
  readonly wid: string;
}

/**
 * Runs one job. Resolving ACKs the job; throwing (or rejecting) FAILs it with
 * the error's name, message and stack.
 *
 * @example
 * ```ts
 * import type { JobHandler } from "@faktory-ts/faktory";
 * const greet: JobHandler<[name: string]> = (job) => {
 *   console.log(`Hello, ${job.args[0]}`);
 * };
 * ```
 */
export type JobHandler<Args extends readonly unknown[] = readonly unknown[]> = (
  job: Job<Args>,
  context: JobContext,
) => unknown;

/**
 * Runs around every job, first one outermost: time it, trace it, change the
 * error. Call `next` to run the rest; throw to fail the job.
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
export type JobMiddleware = (
  job: Job,
  context: JobContext,
  next: () => Promise<void>,
) => Promise<void>;

/**
 * Where handlers and job middleware are registered: a {@linkcode Worker}, or
 * the test doubles of `@faktory-ts/faktory/testing`. Write the registration
 * once against this interface and use it in production and in tests.
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
export interface HandlerRegistry {
  /** Registers the handler for a job type or a plain jobtype name (see {@linkcode Worker.register}). */
  register<Args extends readonly unknown[]>(
    type: JobType<Args> | string,
    handler: JobHandler<Args>,
  ): this;
  /** Adds middleware around every job (see {@linkcode Worker.use}). */
  use(middleware: JobMiddleware): this;
}

interface Registered {
  readonly handler: JobHandler;
  readonly parse: ((args: unknown[]) => readonly unknown[]) | undefined;
}

/** The handlers by jobtype and the middleware around them. */
export class Handlers {
  readonly #handlers = new Map<string, Registered>();
  readonly #middleware: JobMiddleware[];

  /** Starts with this middleware, first one outermost. */
  constructor(middleware: readonly JobMiddleware[] = []) {
    this.#middleware = [...middleware];
  }

  /** Registers (or replaces) the handler for a job type or jobtype name. */
  register<Args extends readonly unknown[]>(
    type: JobType<Args> | string,
    handler: JobHandler<Args>,
  ): void {
    const jobtype = typeof type === "string" ? type : (type as JobType | null)?.jobtype;
    checkValue(JOBTYPE, jobtype, "jobtype");
    if (typeof handler !== "function") {
      throw new ValidationError(`The handler for ${jobtype} is not a function`);
    }
    const parse = typeof type === "string" ? undefined : type.parse;
    if (parse !== undefined) checkValue(JOB_OPTIONS.parse!, parse, "parse");
    this.#handlers.set(jobtype!, { handler: handler as unknown as JobHandler, parse });
  }

  /** Adds middleware inside what was added before. */
  use(middleware: JobMiddleware): void {
    if (typeof middleware !== "function") {
      throw new ValidationError("Middleware must be a function");
    }
    this.#middleware.push(middleware);
  }

  /**
   * Runs the job: finds its handler (else `UnknownJobTypeError`), applies
   * the job type's `parse` (else `InvalidArgumentsError`), then the
   * middleware and the handler.
   */
  run(job: Job, context: JobContext): Promise<unknown> {
    try {
      const registered = this.#handlers.get(job.jobtype);
      if (registered === undefined) {
        throw new UnknownJobTypeError(
          `No handler is registered for jobtype ${JSON.stringify(job.jobtype)}`,
        );
      }
      if (registered.parse) {
        try {
          (job.payload as { args: unknown }).args = registered.parse(job.args as unknown[]);
        } catch (cause) {
          throw new InvalidArgumentsError(
            `Arguments of ${job.jobtype} were refused: ${describeFailure(cause).message}`,
            { cause },
          );
        }
      }
      const middleware = this.#middleware;
      // Middleware and handlers are user code: what they return may be
      // anything, a thenable whose `then` throws included. Promise.resolve
      // turns each into a promise that settles as it does.
      const run = (i: number): Promise<unknown> => {
        const m = middleware[i];
        return Promise.resolve(
          m ? m(job, context, () => run(i + 1).then(() => {})) : registered.handler(job, context),
        );
      };
      return run(0);
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

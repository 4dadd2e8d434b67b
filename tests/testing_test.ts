// The testing helpers (`@faktory-ts/faktory/testing`), used the way an
// application's own test suite would: no server anywhere in this file.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  defineJob,
  type HandlerRegistry,
  InvalidArgumentsError,
  type JobContext,
  type JobPusher,
  type Logger,
  type Producer,
  schemaFrom,
  UnknownJobTypeError,
  ValidationError,
  type Worker,
  WorkerStoppedError,
} from "../mod.ts";
import { fake, inline, TestProducer } from "../src/testing.ts";

// ---- the "application" under test ----------------------------------------------

const SendEmail = defineJob<[to: string, subject: string]>("SendEmail", { queue: "mail" });
const Charge = defineJob("Charge", {
  queue: "billing",
  retry: 3,
  schema: schemaFrom((args): [cents: number] => {
    if (typeof args[0] !== "number") throw new TypeError("cents must be a number");
    return args as [number];
  }),
});

/** Application code: depends on the interface only, so Producer or a test double fit. */
async function signUp(jobs: JobPusher, email: string): Promise<string> {
  return await jobs.perform(SendEmail, [email, "Welcome"]);
}

/** The registration the application shares between its Worker and its tests. */
function registerHandlers(
  registry: HandlerRegistry,
  outbox: string[],
  jobs: JobPusher,
): void {
  registry.register(SendEmail, (job) => {
    const [to, subject] = job.args;
    if (to.endsWith("@invalid")) throw new RangeError(`cannot mail ${to}`);
    outbox.push(`${subject} -> ${to}`);
  });
  registry.register(Charge, async (job) => {
    // A handler that pushes a follow-up job.
    await jobs.perform(SendEmail, ["billing@example.com", `charged ${job.args[0]}`]);
  });
}

// Compile-time: the real classes satisfy the same interfaces.
const _producerIsPusher = (p: Producer): JobPusher => p;
const _workerIsRegistry = (w: Worker): HandlerRegistry => w;
void _producerIsPusher;
void _workerIsRegistry;

// ---- fake mode -----------------------------------------------------------------

describe("fake mode", () => {
  test("pushed jobs wait per queue, typed, until drained through the real handlers", async () => {
    const outbox: string[] = [];
    await using jobs = fake();
    registerHandlers(jobs, outbox, jobs);

    const jid = await signUp(jobs, "ada@example.com");
    await jobs.perform({ jobtype: "Other", queue: "low" }, []);

    assert.equal(jobs.mode, "fake");
    assert.equal(jobs.size, 2);
    assert.deepEqual(jobs.queues, ["mail", "low"]);
    const [mail] = jobs.jobs("mail");
    assert.equal(mail?.jid, jid);
    assert.equal(mail?.queue, "mail");
    assert.ok(mail?.createdAt instanceof Date);
    const typed: string[] = jobs.jobsOf(SendEmail).map((job) => job.args[0]);
    assert.deepEqual(typed, ["ada@example.com"]);
    assert.deepEqual(outbox, [], "nothing runs before drain");

    const ran = await jobs.drain({ queue: "mail" });
    assert.deepEqual(ran.map((j) => j.jid), [jid]);
    assert.deepEqual(outbox, ["Welcome -> ada@example.com"]);
    assert.deepEqual(jobs.queues, ["low"], "the other queue is left alone");
    assert.equal(jobs.pushed.length, 2, "pushed keeps every job ever pushed");
  });

  test("drain runs jobs pushed by handlers too, in push order", async () => {
    const outbox: string[] = [];
    const jobs = fake();
    registerHandlers(jobs, outbox, jobs);
    await jobs.perform(Charge, [500]);
    await jobs.perform(SendEmail, ["first@example.com", "Hi"]);
    const ran = await jobs.drain();
    assert.deepEqual(ran.map((j) => j.jobtype), ["Charge", "SendEmail", "SendEmail"]);
    assert.deepEqual(outbox, ["Hi -> first@example.com", "charged 500 -> billing@example.com"]);
    assert.equal(jobs.size, 0);
  });

  test("a failing handler rejects drain with its own error; the other jobs stay", async () => {
    const outbox: string[] = [];
    const jobs = fake();
    registerHandlers(jobs, outbox, jobs);
    await signUp(jobs, "bad@invalid");
    await signUp(jobs, "good@example.com");
    await assert.rejects(jobs.drain(), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.message, "cannot mail bad@invalid");
      return true;
    });
    assert.deepEqual(jobs.jobsOf(SendEmail).map((j) => j.args[0]), ["good@example.com"]);
    await jobs.drain();
    assert.deepEqual(outbox, ["Welcome -> good@example.com"]);
  });

  test("unknown job types and arguments refused by the schema fail as on a worker", async () => {
    const jobs = fake().register(Charge, () => {});
    await jobs.perform({ jobtype: "Nobody" }, []);
    await assert.rejects(jobs.drain(), UnknownJobTypeError);
    // Pushed by name with the wrong argument type, as another service might.
    await jobs.perform({ jobtype: "Charge" }, ["five hundred"]);
    await assert.rejects(jobs.drain(), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentsError);
      assert.match(e.message, /cents must be a number/);
      return true;
    });
  });

  test("jobs arrive as a worker would fetch them: options applied, JSON round trip", async () => {
    const jobs = fake({ defaults: { queue: "app", custom: { tenant: "t1" } } });
    const seen: unknown[] = [];
    jobs.register("Stamp", (job) => void seen.push(job.args[0], typeof job.args[0]));
    const when = new Date("2030-01-02T03:04:05.000Z");
    await jobs.perform([{ jobtype: "Stamp", retry: 2 }, { reserveFor: 120, at: when }], [when]);
    await jobs.perform([Charge, { once: true, custom: { order: 7 } }], [1]);

    const [stamp] = jobs.jobs("app");
    assert.equal(stamp?.at?.toISOString(), when.toISOString());
    assert.equal(stamp?.retry, 2);
    assert.equal(stamp?.reserveFor, 120);
    assert.deepEqual(stamp?.custom, { tenant: "t1" });
    const [charge] = jobs.jobsOf(Charge);
    assert.equal(charge?.queue, "billing", "the job type's queue wins over the defaults");
    assert.equal(charge?.retry, -1);
    assert.deepEqual(charge?.custom, { tenant: "t1", order: 7 });

    await jobs.drain({ jobtype: "Stamp" });
    assert.deepEqual(seen, [when.toISOString(), "string"], "a Date arrives as its JSON string");
    assert.deepEqual(jobs.jobsOf(Charge).length, 1, "jobtype filter: Charge still waits");
  });

  test("a job a real push would refuse is refused the same way, and not recorded", async () => {
    const jobs = fake();
    await assert.rejects(jobs.perform({ jobtype: "Big" }, [10n]), ValidationError);
    await assert.rejects(jobs.perform({ jobtype: "Q", queue: "no spaces" }, []), ValidationError);
    await assert.rejects(jobs.perform({ jobtype: "" }, []), ValidationError);
    await assert.rejects(
      jobs.performBulk({ jobtype: "Bulk" }, [[1], [Number.NaN]]),
      ValidationError,
    );
    assert.equal(jobs.pushed.length, 0);
    assert.equal(jobs.size, 0);
  });

  test("performBulk collects every job; clear drops waiting jobs", async () => {
    const jobs = fake();
    const jids = await jobs.performBulk(SendEmail, [["a@x.io", "1"], ["b@x.io", "2"]]);
    await jobs.perform({ jobtype: "Keep", queue: "keep" }, []);
    assert.equal(jids.length, 2);
    assert.deepEqual(jobs.jobs("mail").map((j) => j.jid), jids);
    jobs.clear("mail");
    assert.deepEqual(jobs.queues, ["keep"]);
    jobs.clear();
    assert.equal(jobs.size, 0);
    assert.equal(jobs.pushed.length, 3);
  });

  test("drain runs at most limit jobs; without one it stops a job that pushes itself", async () => {
    const jobs = fake();
    jobs.register("Again", async () => void await jobs.perform({ jobtype: "Again" }, []));
    await jobs.perform({ jobtype: "Again" }, []);
    assert.equal((await jobs.drain({ limit: 5 })).length, 5);
    assert.equal(jobs.size, 1, "the job pushed by the fifth run waits");
    await assert.rejects(jobs.drain(), /drain ran 10000 jobs and more are waiting/);
    assert.equal(jobs.size, 1);
  });
});

// ---- inline mode ---------------------------------------------------------------

describe("inline mode", () => {
  test("a push runs the handler before it resolves", async () => {
    const outbox: string[] = [];
    const jobs = inline();
    registerHandlers(jobs, outbox, jobs);
    const jid = await signUp(jobs, "ada@example.com");
    assert.deepEqual(outbox, ["Welcome -> ada@example.com"]);
    assert.equal(jobs.size, 0, "nothing waits in inline mode");
    assert.deepEqual(jobs.pushed.map((j) => j.jid), [jid]);
    // Jobs pushed by a handler run at once as well.
    await jobs.perform(Charge, [250]);
    assert.deepEqual(outbox.at(-1), "charged 250 -> billing@example.com");
  });

  test("the push rejects with the handler's own error", async () => {
    const jobs = new TestProducer("inline");
    registerHandlers(jobs, [], jobs);
    const error = await signUp(jobs, "x@invalid").catch((e: unknown) => e);
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, "cannot mail x@invalid");
    await assert.rejects(jobs.perform({ jobtype: "Unregistered" }, []), UnknownJobTypeError);
  });

  test("performBulk runs the jobs in order and stops at the first failure", async () => {
    const ran: string[] = [];
    const jobs = inline().register(SendEmail, (job) => {
      if (job.args[0] === "stop") throw new Error("stopped");
      ran.push(job.args[0]);
    });
    await jobs.performBulk(SendEmail, [["a", "s"], ["b", "s"]]);
    assert.deepEqual(ran, ["a", "b"]);
    await assert.rejects(jobs.performBulk(SendEmail, [["c", "s"], ["stop", "s"], ["d", "s"]]), {
      message: "stopped",
    });
    assert.deepEqual(ran, ["a", "b", "c"]);
  });
});

// ---- context and middleware ----------------------------------------------------

describe("context and middleware", () => {
  test("handlers get a signal, the logger and a worker id", async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: (m) => void lines.push(m),
      warn: () => {},
      error: () => {},
    };
    let context: JobContext | undefined;
    const jobs = inline({ logger, wid: "test-7" }).register("Ctx", (job, ctx) => {
      context = ctx;
      ctx.logger.info(`ran ${job.jid}`);
    });
    const jid = await jobs.perform({ jobtype: "Ctx" }, []);
    assert.equal(context?.wid, "test-7");
    assert.ok(context?.signal instanceof AbortSignal);
    assert.equal(context?.signal.aborted, false);
    assert.deepEqual(lines, [`ran ${jid}`]);
    assert.equal(new TestProducer().mode, "fake");
  });

  test("push middleware and job middleware run as on a Producer and a Worker", async () => {
    const order: string[] = [];
    const jobs = fake({
      middleware: [async (job, next) => {
        job.custom = { ...job.custom, trace: "abc" };
        order.push("push");
        await next();
      }, (job, next) => job.jobtype === "Dropped" ? Promise.resolve() : next()],
      jobMiddleware: [async (job, _ctx, next) => {
        order.push(`outer ${job.custom["trace"]}`);
        await next();
      }],
    });
    jobs.use(async (_job, _ctx, next) => {
      order.push("inner");
      await next();
    });
    jobs.register("Traced", () => void order.push("handler"));
    await jobs.perform({ jobtype: "Traced" }, []);
    await jobs.perform({ jobtype: "Dropped" }, []);
    assert.equal(jobs.size, 1, "a push middleware that does not call next drops the job");
    await jobs.drain();
    assert.deepEqual(order, ["push", "push", "outer abc", "inner", "handler"]);
  });

  test("close aborts the signal of a running job and drops waiting jobs", async () => {
    const jobs = fake();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    jobs.register("Slow", (_job, { signal }) =>
      new Promise<void>((_, reject) => {
        started();
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }));
    await jobs.perform({ jobtype: "Slow" }, []);
    await jobs.perform({ jobtype: "Slow" }, []);
    const draining = jobs.drain();
    await running;
    await jobs.close();
    await assert.rejects(draining, WorkerStoppedError);
    assert.equal(jobs.size, 0);
  });

  test("bad settings are refused with ValidationError", async () => {
    // @ts-expect-error: not a mode
    assert.throws(() => new TestProducer("eager"), ValidationError);
    // @ts-expect-error: not a handler
    assert.throws(() => fake().register("X", "nope"), ValidationError);
    assert.throws(() => fake().register("", () => {}), ValidationError);
    await assert.rejects(fake().drain({ limit: -1 }), ValidationError);
  });
});

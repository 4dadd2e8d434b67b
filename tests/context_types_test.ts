/**
 * The toolkit's types: the context option's values are inferred and typed
 * in handlers and middleware (Worker and ./testing alike), hooks take any
 * worker, and performMany checks each job's arguments against its type. The
 * `@ts-expect-error` lines are checked by the type checker (deno check, and
 * tsc for the Node run): an unused directive fails the check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  defineJob,
  type HandlerRegistry,
  type JobContext,
  type JobPusher,
  type Producer,
  Worker,
  type WorkerHooks,
} from "../mod.ts";
import { fake } from "../src/testing.ts";

interface Db {
  user(id: number): Promise<string>;
}
const SendEmail = defineJob<[to: string]>("SendEmail");
const Resize = defineJob<[id: number, width: number]>("Resize");

function registerHandlers(registry: HandlerRegistry<{ db: Db }>): void {
  registry.register(Resize, async (job, ctx) => {
    const email: string = await ctx.db.user(job.args[0]);
    await ctx.jobs.perform(SendEmail, [email]);
    // @ts-expect-error: the registry provides db, not mailer
    void ctx.mailer;
  });
  registry.use(async (_job, ctx, next) => {
    const db: Db = ctx.db;
    void db;
    await next();
  });
}

/** Never called: only type-checked. */
function misuse(db: Db, producer: Producer, hooks: WorkerHooks) {
  const worker = new Worker({ context: (job) => ({ db, jid: job.jid }), hooks });
  worker.register(Resize, async (job, ctx) => {
    const width: number = job.args[1];
    const jid: string = ctx.jid;
    const base: JobContext = ctx;
    // @ts-expect-error: not a value the context option returns
    void ctx.cache;
    await ctx.progress({ percent: width, description: jid });
    void base;
  });
  registerHandlers(worker);
  registerHandlers(fake({ context: () => ({ db }) }));
  // A worker with more values serves handlers that need fewer; hooks take any worker.
  const hooked: WorkerHooks = { startup: (w: Worker) => void w.jobs };
  // A hook may return whatever promise it has at hand: it is awaited, its value unused.
  const returning: WorkerHooks = {
    startup: () => db.user(1),
    quiet: (w) => w.jobs.perform(SendEmail, ["quiet@example.com"]),
    shutdown: () => Promise.resolve(42),
  };
  void returning;
  void new Worker({ context: () => ({ db, extra: 1 }), hooks: hooked });
  const plain = new Worker();
  plain.register(SendEmail, (_job, ctx) => {
    // @ts-expect-error: no context option, no db
    void ctx.db;
  });

  const jobs: JobPusher = producer;
  void jobs.performMany([[SendEmail, ["a@example.com"]], [[Resize, { queue: "img" }], [1, 640]]]);
  // @ts-expect-error: Resize takes numbers
  void jobs.performMany([[SendEmail, ["a@example.com"]], [Resize, [1, "640"]]]);
  // @ts-expect-error: SendEmail takes one string
  void producer.performMany([[SendEmail, [42]]]);
  void producer.perform([SendEmail, { jid: "email-0001" }], ["a@example.com"]);
  void producer.batch({ description: "d" }, (batch, bid) => batch.perform(SendEmail, [bid]));
}

test("the toolkit's types: context values, hooks and performMany (see the @ts-expect-error lines)", () => {
  assert.equal(typeof misuse, "function");
  assert.equal(typeof registerHandlers, "function");
});

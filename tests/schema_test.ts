// Job types checked by a Standard Schema, with zod 4, valibot and arktype: a
// push refuses bad arguments before anything is sent, the worker checks them
// again and FAILs a refused job, a transform is applied once, in the worker,
// and the test doubles of ./testing do the same.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { StandardSchemaV1 as SpecSchema } from "@standard-schema/spec";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import {
  Client,
  defineJob,
  InvalidArgumentsError,
  type Job,
  type JobMiddleware,
  Producer,
  queueSizes,
  schemaFrom,
  silentLogger,
  type StandardSchemaV1,
  UnknownJobTypeError,
  ValidationError,
  Worker,
} from "../mod.ts";
import { fake, inline } from "../src/testing.ts";
import { type FaktoryServer, startFaktory } from "./harness/faktory.ts";
import { jobsIn } from "./harness/redis.ts";
import { until } from "./harness/until.ts";

const WHEN = "2030-01-02T03:04:05.000Z";

/**
 * The same two job types made with each library: `Welcome` takes an email
 * address and a plan; `Remind` takes an ISO time, which its schema turns
 * into a `Date`.
 */
function jobTypes(library: "zod" | "valibot" | "arktype") {
  const queue = `schema-${library}`;
  switch (library) {
    case "zod":
      return {
        queue,
        Welcome: defineJob("Welcome", {
          queue,
          schema: z.tuple([z.email(), z.enum(["free", "pro"])]),
        }),
        Remind: defineJob("Remind", {
          queue,
          schema: z.tuple([z.iso.datetime().transform((s) => new Date(s))]),
        }),
      };
    case "valibot":
      return {
        queue,
        Welcome: defineJob("Welcome", {
          queue,
          schema: v.tuple([v.pipe(v.string(), v.email()), v.picklist(["free", "pro"])]),
        }),
        Remind: defineJob("Remind", {
          queue,
          schema: v.tuple([v.pipe(v.string(), v.isoTimestamp(), v.transform((s) => new Date(s)))]),
        }),
      };
    case "arktype":
      return {
        queue,
        Welcome: defineJob("Welcome", { queue, schema: type(["string.email", "'free' | 'pro'"]) }),
        Remind: defineJob("Remind", { queue, schema: type(["string.date.iso.parse"]) }),
      };
  }
}

/** What `call` rejected with; fails if it resolved. */
async function refusal(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (e) {
    return e as Error;
  }
  assert.fail("it was not refused");
}

// Compile time: argument types come from the schema, the input at push and
// the output in the handler; the vendored interface and the spec's agree.
function _types(producer: Producer, worker: Worker) {
  const { Welcome, Remind } = jobTypes("zod");
  void producer.perform(Welcome, ["ada@example.com", "pro"]);
  // @ts-expect-error: "gold" is not a plan
  void producer.perform(Welcome, ["ada@example.com", "gold"]);
  void producer.perform(Remind, [WHEN]);
  // @ts-expect-error: a push takes the schema's input, a string
  void producer.perform(Remind, [new Date()]);
  worker.register(Remind, (job) => job.args[0].getTime());
  // @ts-expect-error: the handler gets the schema's output, a Date
  worker.register(Remind, (job) => job.args[0].toUpperCase());
  // @ts-expect-error: a schema of an object is not one of an argument list
  defineJob("Object", { schema: z.object({ to: z.string() }) });
  const ours: StandardSchemaV1<[string], [Date]> = z.tuple([
    z.iso.datetime().transform((s) => new Date(s)),
  ]);
  const spec: SpecSchema<[number]> = schemaFrom((args): [number] => args as [number]);
  return [ours, spec];
}
void _types;

describe("schema on a real Faktory", () => {
  let server: FaktoryServer;
  let client: Client;
  before(async () => {
    server = await startFaktory();
    client = await Client.connect({ url: server.url, logger: silentLogger });
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  for (const library of ["zod", "valibot", "arktype"] as const) {
    const { queue, Welcome, Remind } = jobTypes(library);

    test(`${library}: a push with bad arguments is a ValidationError naming each issue; nothing is sent`, async () => {
      await using producer = await Producer.connect({
        url: server.url,
        poolSize: 1,
        logger: silentLogger,
      });
      const bad = ["not an email", "gold"] as unknown as ["", "free"];
      const single = await refusal(() => producer.perform(Welcome, bad));
      assert.ok(single instanceof ValidationError, String(single));
      assert.match(single.message, /^Invalid arguments for Welcome: args\[0\]: .+; args\[1\]: .+/);
      assert.match(single.message, /email/i);
      // Every job of a bulk push is checked before the first batch is sent.
      const bulk = await refusal(() =>
        producer.performBulk(Welcome, [["ada@example.com", "pro"], bad])
      );
      assert.ok(bulk instanceof ValidationError);
      assert.match(bulk.message, /^Invalid arguments for Welcome: argsList\[1\]\[0\]: /);
      assert.equal(queueSizes(await client.info())[queue] ?? 0, 0, "nothing was pushed");

      for (const jobs of [fake(), inline()]) {
        const double = await refusal(() => jobs.perform(Welcome, bad));
        assert.ok(double instanceof ValidationError);
        assert.equal(double.message, single.message, `${jobs.mode} refuses it the same way`);
        const doubleBulk = await refusal(() =>
          jobs.performBulk(Welcome, [["ada@example.com", "pro"], bad])
        );
        assert.equal(doubleBulk.message, bulk.message);
        assert.equal(jobs.pushed.length, 0);
      }
    });

    test(`${library}: the job carries its input; the worker checks it again and the handler gets the output`, async () => {
      await using producer = await Producer.connect({
        url: server.url,
        poolSize: 1,
        logger: silentLogger,
      });
      const fetched: unknown[] = [];
      const handled: unknown[] = [];
      const failures: unknown[] = [];
      const worker = new Worker({ url: server.url, queues: [queue], logger: silentLogger });
      worker.register(Remind, (job) => void handled.push(job.args[0]));
      worker.register(Welcome, () => {});
      worker.on("start", (job) => fetched.push(job.args[0]));
      worker.on("failure", (_job, error) => failures.push(error));
      const running = worker.run();
      try {
        await producer.perform(Remind, [WHEN]);
        // Pushed by name by another service, past any schema.
        const bad = await client.push({
          jid: crypto.randomUUID(),
          jobtype: "Welcome",
          queue,
          args: ["not an email", "pro"],
        });
        await until(() => handled.length === 1 && failures.length === 1);
        assert.ok(fetched.includes(WHEN), "the job was sent with the input as given");
        assert.ok(handled[0] instanceof Date && handled[0].toISOString() === WHEN);
        assert.ok(failures[0] instanceof InvalidArgumentsError);
        assert.match(failures[0].message, /^Invalid arguments for Welcome: args\[0\]: /);
        const retried = (await jobsIn(server, "retries")).find((j) => j.jid === bad);
        const failure = retried?.failure as { errtype?: string; message?: string } | undefined;
        assert.equal(failure?.errtype, "InvalidArgumentsError");
        assert.equal(failure?.message, failures[0].message);
      } finally {
        await worker.stop();
        await running;
      }
    });

    test(`${library} in ./testing: the handler gets the output, the waiting job the input`, async () => {
      const handled: unknown[] = [];
      const jobs = fake().register(Remind, (job) => void handled.push(job.args[0]));
      await jobs.perform(Remind, [WHEN]);
      assert.deepEqual(jobs.jobsOf(Remind).map((j) => j.args[0]), [WHEN]);
      await jobs.drain();
      assert.ok(handled[0] instanceof Date && handled[0].toISOString() === WHEN);

      const now = inline().register(Welcome, () => {});
      const error = await refusal(() =>
        now.perform({ jobtype: "Welcome" }, ["not an email", "pro"])
      );
      assert.ok(error instanceof InvalidArgumentsError);
      assert.match(error.message, /^Invalid arguments for Welcome: args\[0\]: /);
    });
  }
});

describe("schema: async checks, refusals and their messages (no server)", () => {
  test("async validators are awaited at push and in the worker", async () => {
    const taken = new Set(["taken@example.com"]);
    const available = async (email: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return !taken.has(email);
    };
    const schemas = {
      zod: z.tuple([z.email().refine(available, "Already taken")]),
      valibot: v.tupleAsync([
        v.pipeAsync(v.string(), v.checkAsync(available, "Already taken")),
      ]),
      schemaFrom: schemaFrom(async (args): Promise<[string]> => {
        if (!(await available(String(args[0])))) throw new Error("Already taken");
        return args as [string];
      }),
    };
    for (const [name, schema] of Object.entries(schemas)) {
      const Claim = defineJob("Claim", { schema });
      const ran: unknown[] = [];
      const jobs = inline().register(Claim, (job) => void ran.push(job.args[0]));
      await jobs.perform(Claim, ["ada@example.com"]);
      assert.deepEqual(ran, ["ada@example.com"], name);
      const error = await refusal(() => jobs.perform(Claim, ["taken@example.com"]));
      assert.ok(error instanceof ValidationError, name);
      // schemaFrom's issue has no path: it is about the arguments as a whole.
      assert.match(
        error.message,
        /^Invalid arguments for Claim: args(\[0\])?: Already taken$/,
        name,
      );
      taken.add("ada@example.com"); // taken between push and run: the worker refuses it
      const late = fake().register(Claim, () => {});
      await late.perform(Claim, ["grace@example.com"]);
      taken.add("grace@example.com");
      await assert.rejects(late.drain(), InvalidArgumentsError, name);
      taken.delete("ada@example.com");
      taken.delete("grace@example.com");
    }
  });

  test("issue paths name nested keys; past ten issues the rest are counted", async () => {
    const Order = defineJob("Order", {
      schema: z.tuple([z.object({ items: z.array(z.object({ sku: z.string() })) })]),
    });
    const jobs = fake();
    const nested = await refusal(() =>
      jobs.perform(Order, [{ items: [{ sku: "a" }, { sku: 7 as never }] }])
    );
    assert.match(nested.message, /^Invalid arguments for Order: args\[0\]\.items\[1\]\.sku: /);
    const Many = defineJob("Many", { schema: z.array(z.number()) });
    const many = await refusal(() => jobs.perform(Many, Array(12).fill("x") as never));
    assert.equal(many.message.split("; ").length, 11);
    assert.match(many.message, /args\[9\]: [^;]+; and 2 more$/);
  });

  test("a schema that throws or returns no argument list is refused at push and in the worker", async () => {
    const Throws = defineJob("Throws", {
      schema: schemaFrom((): [] => {
        throw new RangeError("no");
      }),
    });
    const thrown = await refusal(() => fake().perform(Throws, []));
    assert.equal(thrown.message, "Invalid arguments for Throws: args: no");
    const broken: StandardSchemaV1<[]> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => {
          throw new Error("bug");
        },
      },
    };
    const Broken = defineJob("Broken", { schema: broken });
    const error = await refusal(() => fake().perform(Broken, []));
    assert.ok(error instanceof ValidationError);
    assert.equal(error.message, "The schema of Broken threw: bug");
    const jobs = inline().register(Broken, () => {});
    const inWorker = await refusal(() => jobs.perform({ jobtype: "Broken" }, []));
    assert.ok(inWorker instanceof InvalidArgumentsError);
    assert.equal(inWorker.message, "The schema of Broken threw: bug");
    const NotAList = defineJob("NotAList", {
      schema: z.tuple([z.string()]).transform(([s]) => ({ s })) as never,
    });
    const notAList = await refusal(() => fake().perform(NotAList, ["x"]));
    assert.equal(
      notAList.message,
      'The schema of NotAList returned {"s":"x"}, not a list of arguments: use a tuple or array schema',
    );
  });

  test("a schema that is not one, and the old parse option, are refused where given", () => {
    assert.throws(
      () => defineJob("Bad", { schema: ((args: unknown[]) => args) as never }),
      /^ValidationError: Invalid schema a function: use a Standard Schema/,
    );
    assert.throws(
      () => defineJob("Old", { parse: (args: unknown[]) => args } as never),
      /Invalid parse a function: parse became schema: use schemaFrom\(parse\)/,
    );
    assert.throws(() => schemaFrom("x" as never), ValidationError);
    assert.throws(
      () => fake().register({ jobtype: "Bad", schema: {} } as never, () => {}),
      /Invalid schema \{\}/,
    );
  });

  test("job middleware sees jobs whose arguments are refused, or that have no handler", async () => {
    const Typed = defineJob("Typed", { schema: z.tuple([z.number()]) });
    const seen: string[] = [];
    const watch: JobMiddleware = async (job: Job, _ctx, next) => {
      try {
        await next();
        seen.push(`${job.jobtype}: ok ${typeof job.args[0]}`);
      } catch (e) {
        seen.push(`${job.jobtype}: ${(e as Error).name}`);
        throw e;
      }
    };
    const jobs = inline({ jobMiddleware: [watch] }).register(Typed, () => {});
    await jobs.perform(Typed, [1]);
    await assert.rejects(jobs.perform({ jobtype: "Typed" }, ["one"]), InvalidArgumentsError);
    await assert.rejects(jobs.perform({ jobtype: "Nobody" }, []), UnknownJobTypeError);
    assert.deepEqual(seen, [
      "Typed: ok number",
      "Typed: InvalidArgumentsError",
      "Nobody: UnknownJobTypeError",
    ]);
  });
});

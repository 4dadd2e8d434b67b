/**
 * Bench runner for npm `faktory-worker` (the Node client, a devDependency),
 * the same modes and options as scripts/bench/ours.mjs, run on Node by
 * scripts/bench.ts. Not part of the library.
 *
 *   node scripts/bench/faktory_worker.mjs <mode> '<json options>'
 *
 * push-seq/pushb use a Client with a pool of one connection, push-conc the
 * Client's default pool (20); drain uses its Worker (`poolSize` defaults to
 * concurrency + 2) and counts ACKs as they are confirmed; mixed gives each
 * "thread" a Client of its own with one connection, as the load tester does.
 *
 * @module
 */

import { createRequire } from "node:module";
import {
  drainClock,
  fail,
  LOAD_FAILURE,
  LOAD_QUEUES,
  loops,
  measure,
  measured,
  parseArgs,
  randomQueue,
  report,
  shuffle,
  tickets,
} from "./common.mjs";

const { Client, Worker } = createRequire(import.meta.url)("faktory-worker");
const { mode, options } = parseArgs();

const ARGS = [1, "string", 3];
const job = () => ({ jobtype: "SomeJob", args: ARGS, queue: "default" });

switch (mode) {
  case "push-seq": {
    const client = new Client({ poolSize: 1 });
    report(
      await measured(async (jobs) => {
        for (let i = 0; i < jobs; i++) await client.push(job());
      }),
    );
    await client.close();
    break;
  }
  case "push-conc": {
    const client = new Client(options.poolSize ? { poolSize: options.poolSize } : {});
    report(
      await measured(async (jobs) => {
        const claim = tickets(jobs);
        await loops(options.concurrency, async () => {
          while (claim()) await client.push(job());
        });
      }),
    );
    await client.close();
    break;
  }
  case "pushb": {
    const client = new Client({ poolSize: 1 });
    report(
      await measured(async (jobs) => {
        for (let done = 0; done < jobs; done += options.batch) {
          const n = Math.min(options.batch, jobs - done);
          const refused = await client.pushBulk(Array.from({ length: n }, job));
          if (Object.keys(refused).length > 0) fail(`PUSHB refused ${Object.keys(refused).length}`);
        }
      }),
    );
    await client.close();
    break;
  }
  case "drain": {
    const worker = new Worker({
      queues: ["default"],
      concurrency: options.concurrency,
      registry: { SomeJob: () => {} },
    });
    let clock;
    // The Worker has no "acknowledged" event: count confirmed ACKs at the client.
    const ack = worker.client.ack.bind(worker.client);
    worker.client.ack = async (jid) => {
      const reply = await ack(jid);
      clock.ack();
      return reply;
    };
    worker.use(async (_ctx, next) => {
      clock.job();
      await next();
    });
    worker.on("fail", ({ job, error }) => fail(`job ${job.jid} failed: ${error}`));
    worker.on("error", (e) => {
      if (clock.acks < clock.total) fail(`worker error: ${e}`);
    });
    const result = measure(async (_extra, begin) => {
      clock = drainClock(begin);
      await clock.done;
      return options.jobs;
    });
    await worker.work();
    report(await result);
    await worker.stop();
    break;
  }
  case "mixed": {
    const threads = options.threads;
    const clients = Array.from({ length: threads }, () => new Client({ poolSize: 1 }));
    await clients[0].flush(); // as the load tester does
    let pushes = 0;
    let pops = 0;
    report(
      await measure(async (extra) => {
        await loops(threads, async (idx) => {
          const client = clients[idx];
          const queues = shuffle(LOAD_QUEUES);
          for (;;) {
            if (idx % 2 === 0) {
              await client.push({ ...job(), queue: randomQueue(), retry: 25 });
              if (++pushes >= options.jobs) return;
            } else {
              const fetched = await client.fetch(...queues);
              if (fetched !== null) {
                if (Math.floor(Math.random() * 100) === 99) {
                  await client.fail(
                    fetched.jid,
                    Object.assign(new Error(LOAD_FAILURE.message), { code: "unknown" }),
                  );
                } else {
                  await client.ack(fetched.jid);
                }
              }
              if (++pops >= options.jobs) return;
            }
          }
        });
        extra.pushes = pushes;
        extra.pops = pops;
        return options.jobs;
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    break;
  }
  case "connect": {
    const ms = [];
    report(
      await measure(async (extra) => {
        for (let i = 0; i < options.count; i++) {
          const t0 = performance.now();
          await new Client().connect(); // connects, HELLO, then closes
          ms.push(performance.now() - t0);
        }
        extra.ms = ms;
        return 0;
      }),
    );
    break;
  }
  default:
    fail(`unknown mode ${mode}`);
}

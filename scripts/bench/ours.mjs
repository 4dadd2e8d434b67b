/**
 * Bench runner for this library, started by scripts/bench.ts as its own
 * process (so its CPU time and peak RSS are its own). The same file runs on
 * Deno and Bun (importing ../../mod.ts) and on Node (importing the npm build,
 * npm/esm/mod.js): pass `"lib"` in the options.
 *
 *   <runtime> scripts/bench/ours.mjs <mode> '<json options>'
 *
 * Modes (FAKTORY_URL names the server; jobs are the load tester's
 * `SomeJob [1, "string", 3]`):
 *   push-seq   {jobs}                one push at a time (Producer.perform)
 *   push-conc  {jobs, concurrency}   `concurrency` callers sharing a Producer's pool
 *   pushb      {jobs, batch}         Producer.performBulk, `batch` jobs per PUSHB
 *   drain      {jobs, concurrency, fetchers?}  a Worker works off `jobs` jobs
 *              already waiting in "default"; timed from the first job's start (or
 *              the last warm-up ACK) to the last ACK
 *   mixed      {jobs, threads}       github.com/contribsys/faktory/test/load,
 *              reproduced with Client: half the "threads" push, half fetch and
 *              ACK (1 % FAIL), over five queues, one connection each
 *   connect    {count}               sequential connect + HELLO + close, each timed
 *              (`ms`), with its hash iterations (`iters`, by counting digests)
 *   first-job  {count, concurrency}  time to first job: a job waits in "default",
 *              then a Worker is made and run; `ms` from `new Worker` to the
 *              handler's call, `count` times (one Worker after another)
 *
 * The push and drain modes also take `warmup`: as many jobs done first,
 * untimed (the drain's measured phase starts at the last warm-up ACK).
 *
 * Prints one JSON line: {jobs, seconds, cpu, peakRssKb, ...}.
 *
 * @module
 */

import {
  drainClock,
  fail,
  liveHeapKb,
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

const { mode, options } = parseArgs();
const lib = await import(new URL(options.lib ?? "../../mod.ts", import.meta.url).href);
const { Client, Producer, Worker, randomJid, silentLogger } = lib;

const SomeJob = { jobtype: "SomeJob" };
const ARGS = [1, "string", 3];

async function producer(poolSize) {
  return await Producer.connect({ logger: silentLogger, ...(poolSize ? { poolSize } : {}) });
}

switch (mode) {
  case "push-seq": {
    const p = await producer(1);
    report(
      await measured(async (jobs) => {
        for (let i = 0; i < jobs; i++) await p.perform(SomeJob, ARGS);
      }),
    );
    await p.close();
    break;
  }
  case "push-conc": {
    const p = await producer(options.poolSize);
    report(
      await measured(async (jobs) => {
        const claim = tickets(jobs);
        await loops(options.concurrency, async () => {
          while (claim()) await p.perform(SomeJob, ARGS);
        });
      }),
    );
    await p.close();
    break;
  }
  case "pushb": {
    const p = await producer(1);
    report(
      await measured(async (jobs) => {
        for (let done = 0; done < jobs; done += options.batch) {
          const n = Math.min(options.batch, jobs - done);
          await p.performBulk(SomeJob, Array.from({ length: n }, () => ARGS));
        }
      }),
    );
    await p.close();
    break;
  }
  case "drain": {
    const worker = new Worker({
      queues: ["default"],
      concurrency: options.concurrency,
      ...(options.fetchers ? { fetchers: options.fetchers } : {}),
      logger: silentLogger,
    });
    worker.register("SomeJob", () => {});
    const result = measure(async (_extra, begin) => {
      const clock = drainClock(begin);
      worker.on("start", clock.job);
      worker.on("success", clock.ack);
      worker.on("failure", (job, e) => fail(`job ${job.jid} failed: ${e}`));
      worker.on("error", (e) => {
        if (clock.acks < clock.total) fail(`worker error: ${e}`);
      });
      await clock.done;
      return options.jobs;
    });
    const running = worker.run();
    report({ ...(await result), liveHeapKb: liveHeapKb() });
    await worker.stop();
    await running;
    break;
  }
  case "mixed": {
    const threads = options.threads;
    const clients = await Promise.all(
      Array.from({ length: threads }, () => Client.connect({ logger: silentLogger })),
    );
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
              await client.push({
                jid: randomJid(),
                jobtype: "SomeJob",
                args: ARGS,
                queue: randomQueue(),
                retry: 25,
                created_at: new Date().toISOString(),
              });
              if (++pushes >= options.jobs) return;
            } else {
              const job = await client.fetch(queues);
              if (job !== null) {
                if (Math.floor(Math.random() * 100) === 99) {
                  await client.fail(job.jid, LOAD_FAILURE);
                } else {
                  await client.ack(job.jid);
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
    const iters = [];
    // Counts digests (= the server's iterations), for the floor's per-iteration cost:
    // one extra call per digest, negligible beside the digest itself.
    const subtle = crypto.subtle;
    const digest = subtle.digest.bind(subtle);
    let digests = 0;
    subtle.digest = (...a) => (digests++, digest(...a));
    report(
      await measure(async (extra) => {
        for (let i = 0; i < options.count; i++) {
          digests = 0;
          const t0 = performance.now();
          const client = await Client.connect({ logger: silentLogger });
          ms.push(performance.now() - t0);
          iters.push(digests);
          await client.close();
        }
        Object.assign(extra, { ms, iters });
        return 0;
      }),
    );
    break;
  }
  case "first-job": {
    const ms = [];
    const client = await Client.connect({ logger: silentLogger });
    report(
      await measure(async (extra) => {
        for (let i = 0; i < options.count; i++) {
          await client.flush();
          await client.push({ jid: randomJid(), jobtype: "SomeJob", args: ARGS });
          let called;
          const first = new Promise((resolve) => (called = resolve));
          const t0 = performance.now();
          const worker = new Worker({
            queues: ["default"],
            concurrency: options.concurrency,
            logger: silentLogger,
          });
          worker.register("SomeJob", () => called(performance.now() - t0));
          const running = worker.run();
          ms.push(await first);
          await worker.stop();
          await running;
        }
        extra.ms = ms;
        return 0;
      }),
    );
    await client.close();
    break;
  }
  default:
    fail(`unknown mode ${mode}`);
}

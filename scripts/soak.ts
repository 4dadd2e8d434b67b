/**
 * Soak test (`deno task soak`, or `deno run -A scripts/soak.ts --jobs 20000`):
 * pushes and works N jobs through a fault-injecting proxy in front of a real
 * Faktory while the proxy cuts connections (at random, and all at once four
 * times a second) and the server is restarted (a SIGKILL crash, then a graceful
 * restart). At the end every jid must have been ACKed at least once. Delivery
 * is at-least-once, so some jobs may run twice: each is explained (a PUSH sent
 * again after its reply was lost, or a job run again after its reservation
 * expired). Prints the figures; exits 1 if a job is missing, unless Faktory
 * itself lost it at a restart (see `serverLost`). It waits for the missing
 * jobs until `--timeout`, or until the server holds no job at all. The
 * timeout is long because the tail is the server's: Faktory 1.10.0's reaper
 * ends a pass (every 15 s) at an expired reservation it holds no job for
 * (its log: "cannot retry reservation: Job not found"), so under load the
 * expired ones come back over minutes (658 s in all beside three busy
 * processes, 268 s alone).
 *
 * Options: --jobs N (20000)  --seed N (1)  --cut-chance P per chunk (0.001)
 *          --cut-every MS (250; 0: never)  --restarts N (2)  --timeout MINUTES (15)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Client, ConnectionError, type JobPayload, randomJid, Worker } from "../mod.ts";
import { startFaktory } from "../tests/harness/faktory.ts";
import { startProxy } from "../tests/harness/proxy.ts";
import { redis } from "../tests/harness/redis.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "20000" },
    seed: { type: "string", default: "1" },
    "cut-chance": { type: "string", default: "0.001" },
    "cut-every": { type: "string", default: "250" },
    restarts: { type: "string", default: "2" },
    timeout: { type: "string", default: "15" },
  },
});
const jobs = Number(values.jobs);
const seed = Number(values.seed);
const cutChance = Number(values["cut-chance"]);
const cutEvery = Number(values["cut-every"]);
const restarts = Number(values.restarts);
const timeoutMs = Number(values.timeout) * 60_000;
for (const [name, value] of Object.entries({ jobs, seed, cutChance, cutEvery, restarts })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number >= 0`);
}

const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`soak: ${line}\n`));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

// What went wrong outside jobs, by kind: expected under faults, reported at the end.
const problems = new Map<string, number>();
const note = (message: string) => {
  const kind = message.replace(/[0-9a-f]{24}/g, "JID").replace(/:\d+/g, ":PORT").slice(0, 90);
  problems.set(kind, (problems.get(kind) ?? 0) + 1);
};
const logger = {
  debug: () => {},
  info: () => {},
  warn: (message: string) => note(message),
  error: (message: string) => note(message),
};

const server = await startFaktory();
const proxy = await startProxy(server);
const rssStart = Deno.memoryUsage().rss;
const started = performance.now();
say(
  `${jobs} jobs, seed ${seed}, random cuts ${cutChance}/chunk, all cut every ${cutEvery} ms, ` +
    `${restarts} restarts; Faktory ${server.url}, proxy ${proxy.url}`,
);

/** Jobs at once; by default as many fetchers, each with at most one FETCH in flight. */
const CONCURRENCY = 50;
/** Runs per jid, and runs that came after a reservation expired. */
const runs = new Map<string, number>();
const afterExpiry = new Set<string>();
let acked = 0;
const worker = new Worker({
  url: proxy.url,
  queues: ["soak"],
  concurrency: CONCURRENCY,
  heartbeatInterval: 5_000,
  logger,
});
/** The highest push index (`args[0]`) a handler has seen: where the queue's head is. */
let head = -1;
worker.register("Soak", (job) => {
  if (job.failure?.errtype === "ReservationExpired") afterExpiry.add(job.jid);
  if (typeof job.args[0] === "number") head = Math.max(head, job.args[0]);
});
worker.on("success", (job) => {
  acked++;
  runs.set(job.jid, (runs.get(job.jid) ?? 0) + 1);
});
worker.on("error", (e) => note(e.message));
const running = worker.run();
const producer = await Client.connect({ url: proxy.url, logger });

/** Jids whose PUSH was sent again after a lost reply: the first may have landed too. */
const pushedAgain = new Set<string>();
async function pushSurely(job: JobPayload): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      await producer.push(job);
      return;
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      pushedAgain.add(job.jid);
      await sleep(Math.min(1_000, 20 * 2 ** attempt));
    }
  }
}

// A first job through a calm network: the worker is up before the faults start.
const probe = { jid: randomJid(), jobtype: "Soak", args: [], queue: "soak", reserve_for: 60 };
await producer.push(probe);
while (!runs.has(probe.jid)) await sleep(20);
runs.delete(probe.jid);
acked = 0;

let faults = true;
let crashes = 0;
let graceful = 0;
let allCuts = 0;
/** The queue's head (see `head`) as each restart began. */
const atRestarts: number[] = [];
proxy.chaos({ seed, cutChance });
const faultsStarted = performance.now();
let faultsEnded = faultsStarted;
let ackedInFaults = 0;

/** Cuts every connection each `cutEvery` ms; restarts the server at even steps of progress. */
const chaos = (async () => {
  let restarted = 0;
  let lastCut = performance.now();
  while (faults) {
    await sleep(50);
    if (!faults) break;
    if (cutEvery > 0 && performance.now() - lastCut >= cutEvery) {
      lastCut = performance.now();
      allCuts += proxy.cutAll();
    }
    if (restarted < restarts && acked >= (jobs * (restarted + 1)) / (restarts + 1)) {
      // Crash first (SIGKILL, Redis still saves), then graceful restarts.
      atRestarts.push(head);
      if (restarted % 2 === 0) {
        await server.kill();
        crashes++;
      } else graceful++;
      await server.restart();
      restarted++;
      say(`restart ${restarted} (${restarted % 2 === 1 ? "crash" : "graceful"}) at ${acked} ACKed`);
    }
  }
})();

const jids: string[] = [];
for (let i = 0; i < jobs; i += 100) {
  const batch: JobPayload[] = [];
  for (let k = i; k < Math.min(jobs, i + 100); k++) {
    batch.push({ jid: randomJid(), jobtype: "Soak", args: [k], queue: "soak", reserve_for: 60 });
  }
  jids.push(...batch.map((j) => j.jid));
  await Promise.all(batch.map(pushSurely));
}
say(`pushed ${jobs} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const deadline = Date.now() + timeoutMs;
let emptyChecks = 0;
/** Jobs the server holds: queued, reserved, scheduled, retrying or dead. */
async function serverHolds(): Promise<number> {
  const queued = await producer.info().then((i) => i.faktory.queues["soak"] ?? 0, () => 1);
  let held = queued;
  for (const set of ["working", "scheduled", "retries", "dead"]) {
    held += Number((await redis(server, "ZCARD", set))[0]);
  }
  return held;
}
let lastReport = Date.now();
const missing = () => jids.filter((jid) => !runs.has(jid));
for (;;) {
  const left = missing().length;
  if (left === 0 || Date.now() > deadline) break;
  // Faults stop once the queue is empty and the restarts are done; the jobs
  // still missing then are those reserved by a FETCH whose reply was cut:
  // the server retries them when their 60 s reservations expire.
  if (faults && crashes + graceful >= restarts) {
    const queued = await producer.info().then((i) => i.faktory.queues["soak"] ?? 0, () => -1);
    if (queued === 0) {
      faults = false;
      faultsEnded = performance.now();
      ackedInFaults = acked;
      proxy.chaos(undefined);
      await chaos;
      say(`faults stopped; waiting for ${left} job(s) reserved by a cut FETCH to be retried`);
    }
  }
  if (Date.now() - lastReport > 10_000) {
    lastReport = Date.now();
    say(`${acked} ACKed, ${left} missing`);
    // Once the faults are over, a server holding nothing twice in a row (10 s
    // apart) can hand out nothing more: the jobs still missing are gone.
    emptyChecks = !faults && (await serverHolds()) === 0 ? emptyChecks + 1 : 0;
    if (emptyChecks >= 2) break;
  }
  await sleep(200);
}
faults = false;
await chaos;
const elapsed = (performance.now() - started) / 1000;
const lost = missing();

const queued = await producer.info().then((i) => i.faktory.queues["soak"] ?? 0, () => -1);
const reserved = Number((await redis(server, "ZCARD", "working"))[0]);
const retries = Number((await redis(server, "ZCARD", "retries"))[0]);
const dead = Number((await redis(server, "ZCARD", "dead"))[0]);
await worker.stop();
await running;
await producer.close();
const cuts = proxy.stats.cuts;
const connections = proxy.stats.connections;
await proxy.stop();
await server.stop();

const twice = [...runs].filter(([, n]) => n > 1).map(([jid]) => jid);
const byPush = twice.filter((jid) => pushedAgain.has(jid));
const byExpiry = twice.filter((jid) => !pushedAgain.has(jid) && afterExpiry.has(jid));
const unexplained = twice.length - byPush.length - byExpiry.length;
const faultSeconds = (faultsEnded - faultsStarted) / 1000;
// Faktory loses a job it popped for a FETCH (BRPOP) and had not yet reserved
// (ZADD working) when it is killed or shut down: manager/fetch.go does the two
// one after the other. Such jobs are gone from the server, and they were next
// in the queue when a restart began: at most one per FETCH in flight, within
// a push batch or two of the head. A job the library lost would be anywhere.
const WINDOW = 250;
const serverLost = lost.filter((jid) => {
  const k = jids.indexOf(jid);
  return atRestarts.some((h) => k > h - WINDOW && k <= h + WINDOW);
});
const explained = queued === 0 && reserved === 0 && retries === 0 && dead === 0 &&
  serverLost.length === lost.length && lost.length <= CONCURRENCY * atRestarts.length;
say("---");
say(`jobs         ${jobs}: ${jobs - lost.length} ACKed at least once, ${lost.length} missing`);
say(`runs         ${[...runs.values()].reduce((a, b) => a + b, 0)} ACKed runs`);
say(
  `duplicates   ${twice.length}: ${byPush.length} pushed again after a PUSH reply was lost ` +
    `(${pushedAgain.size} pushes resent), ${byExpiry.length} run again after a reservation ` +
    `expired, ${unexplained} unexplained`,
);
say(`late         ${afterExpiry.size} run after their reservation expired (FETCH reply cut)`);
say(`restarts     ${crashes + graceful} (${crashes} crash, ${graceful} graceful)`);
say(
  `cuts         ${cuts} (${allCuts} by cut-all, ${
    cuts - allCuts
  } at random) over ${connections} connections`,
);
say(
  `elapsed      ${elapsed.toFixed(1)} s (faults ${faultSeconds.toFixed(1)} s, then the retry tail)`,
);
say(
  `jobs/s       ${(ackedInFaults / faultSeconds).toFixed(0)} under faults, ` +
    `${(jobs / elapsed).toFixed(0)} overall`,
);
say(
  `server       ${queued} queued, ${reserved} reserved, ${retries} in retries, ${dead} dead ` +
    `at the end`,
);
if (lost.length > 0) {
  const where = lost.map((jid) => jids.indexOf(jid)).sort((a, b) => a - b);
  say(
    `missing      push indexes ${where.join(", ")}; the queue's head at the restarts: ` +
      `${atRestarts.join(", ")}; ${
        explained
          ? "lost by the server, popped for a FETCH as it went down and never reserved"
          : "not explained by a restart"
      }`,
  );
}
say(`rss          ${mib(rssStart)} at start, ${mib(Deno.memoryUsage().rss)} at the end`);
const sorted = [...problems].sort((a, b) => b[1] - a[1]);
say(`errors seen  ${sorted.reduce((a, [, n]) => a + n, 0)} (expected under faults), top kinds:`);
for (const [kind, n] of sorted.slice(0, 6)) say(`  ${String(n).padStart(6)}  ${kind}`);
if ((lost.length > 0 && !explained) || unexplained > 0) {
  say(
    `FAILED: missing ${lost.slice(0, 10).join(", ")}${
      unexplained ? "; unexplained duplicates" : ""
    }`,
  );
  Deno.exit(1);
}
say(
  lost.length === 0
    ? "ok: every job ACKed at least once"
    : `ok: every job ACKed at least once but ${lost.length} the server lost at a restart`,
);
Deno.exit(0);

/**
 * The floor: the bench's scenarios done with no library at all, the same
 * Faktory commands over the runtime's own socket (scripts/bench/floor_socket.mjs),
 * in the same topology as this library's run of each scenario. What the
 * library's own overhead is measured against (issue 17). The same file runs
 * on Deno, Bun and Node:
 *
 *   <runtime> scripts/bench/floor.mjs <mode> '<json options>'
 *
 * Modes (FAKTORY_URL names the server):
 *   push-seq   {jobs}                   one PUSH at a time on one connection
 *   push-conc  {jobs, concurrency, connections}  `concurrency` callers, each
 *              PUSH going to the next of `connections` connections round-robin,
 *              pipelined there (as the library's default Producer pool)
 *   pushb      {jobs, batch}            one PUSHB at a time on one connection
 *   drain      {jobs, concurrency}      a connection per slot: FETCH, then the
 *              ACK written together with the next FETCH (as the library's Worker
 *              does when a fetcher waits); timed from the first job (or the last
 *              warm-up ACK) to the last ACK
 *   mixed      {jobs, threads}          the load tester, a connection per thread
 *   connect    {count}                  connect + HI + hash chain + HELLO; each
 *              connection's `ms`, its hash chain's `hashMs` and iterations `iters`
 *
 * The push and drain modes also take `warmup`: as many jobs done first,
 * untimed (the drain's measured phase starts at the last warm-up ACK).
 *
 * Prints one JSON line as the other runners: {jobs, seconds, cpu, ...}.
 *
 * @module
 */

import process from "node:process";
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
import { openSocket } from "./floor_socket.mjs";

const { mode, options } = parseArgs();
const url = new URL(process.env.FAKTORY_URL ?? "tcp://localhost:7419");
const password = url.password ? decodeURIComponent(url.password) : undefined;
const ARGS = [1, "string", 3];

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const jid = () => hex(crypto.getRandomValues(new Uint8Array(12)));
const job = (queue = "default") =>
  JSON.stringify({ jid: jid(), jobtype: "SomeJob", args: ARGS, queue, retry: 25 });

/** SHA-256 `iterations` times, first over password + salt: the library's chain (handshake.ts). */
async function hashChain(secret, salt, iterations) {
  let digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret + salt));
  for (let i = 1; i < iterations; i++) digest = await crypto.subtle.digest("SHA-256", digest);
  return hex(new Uint8Array(digest));
}

/** Connects and says HELLO; `timing` gets the hash chain's ms and iterations. */
async function connect(timing) {
  const conn = await openSocket(url.hostname || "localhost", Number(url.port || 7419));
  const hi = JSON.parse(String(await conn.reply()).slice(3));
  const hello = { v: 2, hostname: "floor", pid: process.pid, labels: ["floor"] };
  if (hi.i !== undefined) {
    if (password === undefined) fail("the server wants a password");
    const t0 = performance.now();
    hello.pwdhash = await hashChain(password, hi.s, hi.i);
    if (timing) (timing.hashMs = performance.now() - t0), (timing.iters = hi.i);
  }
  conn.send(`HELLO ${JSON.stringify(hello)}`);
  await conn.reply();
  return conn;
}

async function push(conn, payload = job()) {
  conn.send(`PUSH ${payload}`);
  await conn.reply();
}

/** Ends cleanly: END tells the server, then the socket closes. */
function close(conn) {
  conn.send("END");
  conn.flush();
  conn.close();
}

switch (mode) {
  case "push-seq": {
    const conn = await connect();
    report(
      await measured(async (jobs) => {
        for (let i = 0; i < jobs; i++) await push(conn);
      }),
    );
    close(conn);
    break;
  }
  case "push-conc": {
    const conns = await Promise.all(Array.from({ length: options.connections }, () => connect()));
    let next = 0;
    report(
      await measured(async (jobs) => {
        const claim = tickets(jobs);
        await loops(options.concurrency, async () => {
          while (claim()) await push(conns[next++ % conns.length]);
        });
      }),
    );
    conns.forEach(close);
    break;
  }
  case "pushb": {
    const conn = await connect();
    report(
      await measured(async (jobs) => {
        for (let done = 0; done < jobs; done += options.batch) {
          const n = Math.min(options.batch, jobs - done);
          conn.send(`PUSHB [${Array.from({ length: n }, () => job()).join(",")}]`);
          const refused = JSON.parse(String(await conn.reply()));
          if (Object.keys(refused).length > 0) fail(`refused: ${JSON.stringify(refused)}`);
        }
      }),
    );
    close(conn);
    break;
  }
  case "drain": {
    const conns = await Promise.all(Array.from({ length: options.concurrency }, () => connect()));
    report(
      await measure(async (_extra, begin) => {
        const clock = drainClock(begin);
        const claim = tickets(clock.total);
        await loops(conns.length, async (i) => {
          const conn = conns[i];
          if (!claim()) return;
          conn.send("FETCH default");
          for (;;) {
            const payload = await conn.reply();
            if (payload === null) fail(`queue empty before ${clock.total} jobs`);
            clock.job();
            const { jid } = JSON.parse(String(payload));
            // The handler is a no-op, as in the library's run.
            const more = claim();
            if (more) conn.send(`ACK {"jid":"${jid}"}`, "FETCH default");
            else conn.send(`ACK {"jid":"${jid}"}`);
            await conn.reply(); // the ACK's +OK
            clock.ack();
            if (!more) return;
          }
        });
        return options.jobs;
      }),
    );
    conns.forEach(close);
    break;
  }
  case "mixed": {
    const conns = await Promise.all(Array.from({ length: options.threads }, () => connect()));
    conns[0].send("FLUSH"); // as the load tester does
    await conns[0].reply();
    let pushes = 0;
    let pops = 0;
    report(
      await measure(async (extra) => {
        await loops(conns.length, async (idx) => {
          const conn = conns[idx];
          const queues = shuffle(LOAD_QUEUES).join(" ");
          for (;;) {
            if (idx % 2 === 0) {
              const payload = JSON.stringify({
                jid: jid(),
                jobtype: "SomeJob",
                args: ARGS,
                queue: randomQueue(),
                retry: 25,
                created_at: new Date().toISOString(),
              });
              await push(conn, payload);
              if (++pushes >= options.jobs) return;
            } else {
              conn.send(`FETCH ${queues}`);
              const payload = await conn.reply();
              if (payload !== null) {
                const { jid } = JSON.parse(String(payload));
                if (Math.floor(Math.random() * 100) === 99) {
                  conn.send(`FAIL ${JSON.stringify({ jid, ...LOAD_FAILURE })}`);
                } else {
                  conn.send(`ACK {"jid":"${jid}"}`);
                }
                await conn.reply();
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
    conns.forEach(close);
    break;
  }
  case "connect": {
    const ms = [];
    const hashMs = [];
    const iters = [];
    report(
      await measure(async (extra) => {
        for (let i = 0; i < options.count; i++) {
          const timing = {};
          const t0 = performance.now();
          const conn = await connect(timing);
          ms.push(performance.now() - t0);
          if (timing.hashMs !== undefined) hashMs.push(timing.hashMs), iters.push(timing.iters);
          close(conn);
        }
        Object.assign(extra, { ms, hashMs, iters });
        return 0;
      }),
    );
    break;
  }
  default:
    fail(`unknown mode ${mode}`);
}
// Bun and Deno keep running while a closed socket's read loop winds down.
process.exit(0);

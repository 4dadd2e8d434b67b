/**
 * The library alone, without a socket or a server: its CPU per job over an
 * in-memory connection (tests/harness/memory.ts) whose peer answers as
 * Faktory would. No network, no server, no other process: the figure moves
 * only with the library's own code, so two versions of it can be compared
 * in a few seconds, where the bench's rounds against a server vary by more
 * than the change. The peer's own work (a few µs per job) is included.
 *
 *   deno run -A scripts/bench/in_memory.ts <mode> [jobs] [n] [lib]
 *   bun scripts/bench/in_memory.ts <mode> [jobs] [n] [lib]
 *
 * Modes: `drain` (a Worker at concurrency n, default 10), `push` (sequential
 * Producer.perform), `bulk` (Producer.performBulk, n jobs per PUSHB, default
 * 100). `lib` is the module to measure (default ../../mod.ts), e.g. a copy of
 * an earlier version. Prints one JSON line: {mode, jobs, n, usPerJob}.
 *
 * @module
 */

import process from "node:process";
import { memoryRuntime } from "../../tests/harness/memory.ts";

const [mode = "drain", jobsArg = "50000", nArg, libArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const n = Number(nArg ?? (mode === "bulk" ? 100 : 10));
const lib = await import(
  libArg === undefined
    ? new URL("../../mod.ts", import.meta.url).href
    : new URL(libArg, `file://${process.cwd()}/`).href
);
const runtime = memoryRuntime();

// The fake server: a greeting, then a reply per command line.
let handedOut = 0;
let acked = 0;
let allAcked!: () => void;
const done = new Promise<void>((resolve) => (allAcked = resolve));
const jobJson = (i: number) =>
  JSON.stringify({
    jid: `job-${i}`,
    jobtype: "SomeJob",
    args: [1, "string", 3],
    queue: "default",
    created_at: "2026-12-03T00:00:00Z",
    enqueued_at: "2026-12-03T00:00:00Z",
    retry: 25,
  });
void (async () => {
  for (;;) {
    const peer = await runtime.nextPeer();
    void (async () => {
      peer.send('+HI {"v":2}\r\n');
      for (let line = await peer.line(); line !== null; line = await peer.line()) {
        const verb = line.slice(0, line.indexOf(" ") >>> 0);
        if (verb === "FETCH") {
          const body = handedOut < jobs ? jobJson(handedOut++) : undefined;
          peer.send(body === undefined ? "$-1\r\n" : `$${body.length}\r\n${body}\r\n`);
        } else if (verb === "PUSHB") peer.send("+{}\r\n");
        else if (line === "END") return peer.close();
        else {
          peer.send("+OK\r\n");
          if (verb === "ACK" && ++acked === jobs) allAcked();
        }
      }
    })();
  }
})();

const common = { url: "tcp://localhost:7419", runtime, logger: lib.silentLogger };
const SomeJob = { jobtype: "SomeJob" };
const ARGS = [1, "string", 3];
let started: number;
if (mode === "drain") {
  const worker = new lib.Worker({ ...common, concurrency: n, handleSignals: false });
  worker.register("SomeJob", () => {});
  started = performance.now();
  const running = worker.run();
  await done;
  report();
  await worker.stop();
  await running;
} else if (mode === "push" || mode === "bulk") {
  const producer = await lib.Producer.connect({ ...common, poolSize: 1 });
  started = performance.now();
  if (mode === "push") { for (let i = 0; i < jobs; i++) await producer.perform(SomeJob, ARGS); }
  else {
    for (let i = 0; i < jobs; i += n) {
      await producer.performBulk(
        SomeJob,
        Array.from({ length: Math.min(n, jobs - i) }, () => ARGS),
      );
    }
  }
  report();
  await producer.close();
} else {
  throw new Error(`Unknown mode ${mode}: use drain, push or bulk`);
}

function report(): void {
  const usPerJob = ((performance.now() - started) * 1000) / jobs;
  const line = JSON.stringify({ mode, jobs, n, usPerJob: Math.round(usPerJob * 100) / 100 });
  process.stdout.write(`${line}\n`);
}

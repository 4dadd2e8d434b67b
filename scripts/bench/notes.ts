/**
 * The method notes of the bench's report (scripts/bench/render.ts): how each
 * client runs each scenario, and what moves the figures between runs.
 *
 * @module
 */

import { FLOOR_PUSH_CONNECTIONS } from "./results.ts";

/** Markdown lines, ending with a blank line. */
export function methodNotes(): string[] {
  return [
    "How each client runs them: _PUSH, 50 concurrent_: this library's default Producer, Go 50",
    "goroutines with a connection each (its client does not pipeline), faktory-worker its",
    "Client's pool (20). _PUSHB_: one command at a time on one connection. _drain_: this",
    "library's Worker (defaults: `fetchers` = concurrency up to 50; a finished job's ACK goes",
    "ahead of its fetcher's next FETCH in one write when that fetcher is waiting), Go one",
    "goroutine and connection per slot doing FETCH then ACK (the load tester's poppers),",
    "faktory-worker its Worker (pool of concurrency + 2); timed from the first job (Go: from",
    "connected) to the last confirmed ACK. _mixed_: each thread a client of its own, as in the",
    "load tester.",
    "",
    "_The floor_ (scripts/bench/floor.mjs) is each runtime with no library: the same commands",
    "over its own socket (Deno.connect, Bun.connect, node:net) with a minimal RESP reader, in",
    `the library's topology: ${FLOOR_PUSH_CONNECTIONS} pipelined connections shared by the 50`,
    "concurrent pushers (what the default Producer's pool grows to), one connection per drain slot writing each",
    "ACK together with the slot's next FETCH, a connection per load-tester thread. It is what",
    "the library's own overhead is measured against.",
    "",
    "_Spread, and why CPU per job moves between runs_: a client's CPU per job is not a",
    "constant of the client. It falls as throughput rises (an event loop handles more replies",
    "per wake-up, Go's goroutines park and wake less often per job) and rises when other",
    "processes compete for the cores. In four interleaved rounds of drain at concurrency 10",
    "on this 2-core machine beside other load, the Go client's CPU per 10,000 jobs ranged",
    "0.38-0.99 s and this library's on Deno 0.39-0.96 s, their ratio in one round 0.72-1.69;",
    "neither Faktory 1.9.4 against 1.10.0 nor the library's code of the earlier results",
    "against today's moved it beyond that spread. So the line _other load_ above, and the",
    "min-max: compare ratios from one run on a quiet machine. Within a repeat the clients run",
    "back to back, each library beside its floor (every other repeat in reverse order), and",
    "the clients of one repeat move together: a ratio is taken within each repeat, and its",
    "median over the repeats is what the ratio tables and the targets show.",
    "",
  ];
}

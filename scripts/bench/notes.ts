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
    "library's Worker (defaults: `fetchers` = concurrency up to 16; a finished job's ACK goes",
    "ahead of its fetcher's next FETCH in one write when that fetcher is waiting), Go one",
    "goroutine and connection per slot doing FETCH then ACK (the load tester's poppers),",
    "faktory-worker its Worker (pool of concurrency + 2); timed from the first job (Go: from",
    "connected) to the last confirmed ACK. _mixed_: each thread a client of its own, as in the",
    "load tester.",
    "",
    "_The floor_ (scripts/bench/floor.mjs) is each runtime with no library: the same commands",
    "over its own socket (Deno.connect, Bun.connect, node:net) with a minimal RESP reader, in",
    `the library's topology: ${FLOOR_PUSH_CONNECTIONS} pipelined connections shared by the 50`,
    "concurrent pushers (the default Producer pool), one connection per drain slot writing each",
    "ACK together with the slot's next FETCH, a connection per load-tester thread. It is what",
    "the library's own overhead is measured against.",
    "",
    "_Spread_: on a shared 2-core machine client and server compete for the cores, so a",
    "client's CPU per job moves with how busy the other core is (see the CPU note in",
    "scripts/bench/notes.ts); compare ratios from one run, and look at the min-max.",
    "",
  ];
}

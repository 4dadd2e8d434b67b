#!/usr/bin/env node
/**
 * `faktory-ts`: push jobs, run workers, and look after a Faktory server from
 * a shell.
 *
 * ```sh
 * deno run -A jsr:@faktory-ts/faktory/cli info      # JSR
 * npx @faktory-ts/faktory info                      # npm (the bin is `faktory-ts`)
 * deno run -A cli.ts push SendEmail '["ada@example.com"]' --queue mail --in 5m
 * deno run -A cli.ts work ./jobs.ts -q critical,3 -q default -c 20
 * ```
 *
 * Commands: `push`, `work`, `info`, `queue pause|resume|remove|latency`,
 * `mutate`; `faktory-ts <command> --help` explains each. The server is found
 * as the library finds it (`--url`, else the variable named by
 * `FAKTORY_PROVIDER`, else `FAKTORY_URL`, else `tcp://localhost:7419`);
 * passwords are never printed. Exit codes: 0 done, 1 the server refused or
 * could not be reached, 2 bad usage (unknown option, bad JSON, invalid job or
 * URL, a module that cannot be loaded).
 *
 * This file is an entry point, not a library module: importing it runs the
 * command line of the current process, and ends the process when the
 * command is done (a stopped worker must not be kept alive by what its
 * handlers left open). The commands are in `cli/`, outside `src/` because
 * they use `node:` modules, which Deno, Bun and Node all provide.
 *
 * @module
 */

import process from "node:process";
import { main } from "./cli/main.ts";
import { flush } from "./cli/output.ts";

const code = await main(process.argv.slice(2));
await flush();
process.exit(code);

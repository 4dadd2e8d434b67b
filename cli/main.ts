/**
 * The command line's dispatch: finds the command, prints help, and turns
 * what went wrong into an exit code: 0 done, 1 the server refused or could
 * not be reached, 2 bad usage.
 *
 * @module
 */

import { ValidationError } from "../mod.ts";
import { info, mutate, queue } from "./admin.ts";
import { type Command, CONNECTION_HELP, parse, PROGRAM, UsageError } from "./args.ts";
import { stderr, stdout } from "./output.ts";
import { push } from "./push.ts";
import { work } from "./work.ts";

const COMMANDS: Readonly<Record<string, Command>> = { push, info, queue, mutate, work };

const HELP = `${PROGRAM}: push jobs to Faktory, run workers, and look after the server

Usage: ${PROGRAM} <command> [options]

Commands:
  push      push a job, or every job of a JSON-lines file
  work      run a worker with the handlers of your modules (one process, or a supervised fleet)
  info      what the server holds: queues, sets, totals
  queue     pause, resume, remove queues; show their latency
  mutate    requeue, discard, kill or clear jobs of the retries, scheduled or dead set

Run '${PROGRAM} <command> --help' for a command's options.

${CONNECTION_HELP}

Exit codes: 0 done, 1 server or connection error, 2 bad usage.`;

/** Runs the command line `args`; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  let command: string | undefined;
  try {
    const parsed = parse(args, COMMANDS);
    command = parsed.command;
    if (parsed.values.help) {
      if (command !== undefined && COMMANDS[command] === undefined) {
        throw new UsageError(`Unknown command "${command}"`);
      }
      stdout(command === undefined ? HELP : COMMANDS[command]!.help);
      return 0;
    }
    if (command === undefined) {
      stderr(HELP);
      return 2;
    }
    return (await COMMANDS[command]!.run(parsed)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ValidationError) {
      stderr(`${PROGRAM}: ${e.message}`);
      const topic = e instanceof UsageError ? e.command ?? command : command;
      stderr(`Run '${PROGRAM} ${topic ? `${topic} ` : ""}--help' for usage.`);
      return 2;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    stderr(`${PROGRAM}: ${error.name === "Error" ? "" : `${error.name}: `}${error.message}`);
    return 1;
  }
}

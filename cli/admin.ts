/**
 * Looking after a server: `faktory-ts info`, `queue` and `mutate`.
 *
 * @module
 */

import { jobCounts, type JobFilter, queueSizes, type ServerInfo } from "../mod.ts";
import {
  type Command,
  CONNECTION_HELP,
  noMore,
  type Parsed,
  PROGRAM,
  str,
  UsageError,
} from "./args.ts";
import { connect } from "./connection.ts";
import { duration, stdout } from "./output.ts";

function table(rows: [string, string][], indent = "  "): string[] {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${indent}${name.padEnd(width)}  ${value}`);
}

async function runInfo({ positionals, values }: Parsed): Promise<void> {
  noMore(positionals, "info");
  const { client, url } = await connect(values);
  let reply: ServerInfo;
  try {
    reply = await client.info();
  } finally {
    await client.close();
  }
  if (values.json) return stdout(JSON.stringify(reply, null, 2));
  const ns = client.namespace;
  const counts = jobCounts(reply, ns);
  const sizes = Object.entries(queueSizes(reply, ns)).sort(([a], [b]) => a.localeCompare(b));
  const s = reply.server;
  const out = [
    `Faktory ${s.faktory_version} at ${url}${ns === undefined ? "" : ` (namespace ${ns})`}`,
    `  up ${duration(s.uptime)}, ${s.connections} connection(s), ${s.used_memory_mb} MB used`,
    "",
    "Jobs:",
    ...table([
      ["enqueued", String(counts.enqueued)],
      ["working", String(counts.working)],
      ["scheduled", String(counts.scheduled)],
      ["retries", String(counts.retries)],
      ["dead", String(counts.dead)],
      ["processed", String(counts.processed)],
      ["failed", String(counts.failed)],
    ]),
    "",
    sizes.length === 0 ? "Queues: none" : "Queues:",
    ...(sizes.length === 0 ? [] : table(sizes.map(([q, n]) => [q, String(n)]))),
  ];
  stdout(out.join("\n"));
}

async function runQueue({ positionals, values }: Parsed): Promise<void> {
  const [action, ...names] = positionals;
  const actions = ["pause", "resume", "remove", "latency"];
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      action === undefined
        ? `queue needs an action: ${actions.join(", ")}`
        : `Unknown queue action "${action}": use ${actions.join(", ")}`,
      "queue",
    );
  }
  if (values.all && names.length > 0) {
    throw new UsageError("Give queue names or --all, not both", "queue");
  }
  if (action === "latency") {
    if (values.all) throw new UsageError("latency needs queue names (no --all)", "queue");
    if (names.length === 0) throw new UsageError("latency needs at least one queue name", "queue");
  } else {
    if (values.json) throw new UsageError(`--json is only for latency`, "queue");
    if (!values.all && names.length === 0) {
      throw new UsageError(`queue ${action} needs queue names, or --all`, "queue");
    }
  }
  const { client } = await connect(values);
  try {
    const target = values.all ? "*" : names;
    if (action === "pause") await client.pauseQueues(target);
    else if (action === "resume") await client.resumeQueues(target);
    else if (action === "remove") await client.removeQueues(target);
    else {
      const latency = await client.queueLatency(names);
      if (values.json) return stdout(JSON.stringify(latency));
      return stdout(
        table(names.map((q) => [q, `${(latency[q] ?? 0).toFixed(3)} s`]), "").join("\n"),
      );
    }
    const done = { pause: "paused", resume: "resumed", remove: "removed" }[action];
    stdout(`${done} ${values.all ? "every queue" : names.join(", ")}`);
  } finally {
    await client.close();
  }
}

async function runMutate({ positionals, values }: Parsed): Promise<void> {
  const [action, set, ...extra] = positionals;
  const actions = ["requeue", "discard", "kill", "clear"];
  const sets = ["retries", "scheduled", "dead"];
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      action === undefined
        ? `mutate needs an action: ${actions.join(", ")}`
        : `Unknown mutate action "${action}": use ${actions.join(", ")}`,
      "mutate",
    );
  }
  if (set === undefined || !sets.includes(set)) {
    throw new UsageError(
      set === undefined
        ? `mutate ${action} needs a set: ${sets.join(", ")}`
        : `Unknown set "${set}": use ${sets.join(", ")}`,
      "mutate",
    );
  }
  noMore(extra, "mutate");
  if (action === "kill" && set === "dead") {
    throw new UsageError(
      "kill moves jobs to the dead set: use it on retries or scheduled",
      "mutate",
    );
  }
  const jids = (values.jid as string[] | undefined) ?? [];
  const jobtype = str(values.jobtype);
  const match = str(values.match);
  const filterGiven = jids.length > 0 || jobtype !== undefined || match !== undefined || values.all;
  if (action === "clear") {
    if (filterGiven) {
      throw new UsageError("clear takes no filter: it deletes every job of the set", "mutate");
    }
  } else {
    if (!filterGiven) {
      throw new UsageError(
        `${action} needs a filter: --jobtype, --jid, --match or --all`,
        "mutate",
      );
    }
    if (values.all && (jids.length > 0 || jobtype !== undefined || match !== undefined)) {
      throw new UsageError("--all matches every job: give no other filter", "mutate");
    }
    if (jids.length > 0 && (jobtype !== undefined || match !== undefined)) {
      throw new UsageError(
        "Give --jid alone: the server ignores --jobtype and --match with jids",
        "mutate",
      );
    }
  }
  const filter: JobFilter = jids.length > 0
    ? { jids }
    : { ...(jobtype === undefined ? {} : { jobtype }), pattern: values.all ? "*" : match };
  const { client } = await connect(values);
  const target = set as "retries" | "scheduled" | "dead";
  try {
    if (action === "clear") await client.clear(target);
    else if (action === "requeue") await client.requeue(target, filter);
    else if (action === "discard") await client.discard(target, filter);
    else await client.kill(target as "retries" | "scheduled", filter);
  } finally {
    await client.close();
  }
  const what = action === "clear"
    ? "every job"
    : jids.length > 0
    ? `jobs ${jids.join(", ")}`
    : values.all
    ? "every job"
    : [jobtype && `jobtype ${jobtype}`, match && `matching ${match}`].filter(Boolean).join(" ");
  const done =
    { requeue: "requeued", discard: "discarded", kill: "killed", clear: "cleared" }[action];
  stdout(`${done} ${what} of ${set}`);
}

/** `faktory-ts info`. */
export const info: Command = {
  help: `Usage: ${PROGRAM} info [--json]

Shows the server's version, its job counts and the size of every queue.

Options:
  --json           print the server's INFO reply as JSON instead

${CONNECTION_HELP}`,
  options: { json: { type: "boolean" } },
  run: runInfo,
};

/** `faktory-ts queue`. */
export const queue: Command = {
  help: `Usage: ${PROGRAM} queue pause|resume|remove <queue>... | --all
       ${PROGRAM} queue latency <queue>... [--json]

  pause     fetches skip the queues until they are resumed
  resume    resume paused queues
  remove    delete the queues and every job waiting in them
  latency   seconds the oldest job of each queue has been waiting

Options:
  --all            every queue (of the URL's namespace, if it has one)
  --json           latency as a JSON object

${CONNECTION_HELP}`,
  options: { all: { type: "boolean" }, json: { type: "boolean" } },
  run: runQueue,
};

/** `faktory-ts mutate`. */
export const mutate: Command = {
  help: `Usage: ${PROGRAM} mutate <action> <set> [filter]

Actions:  requeue (back to its queue, to run now), discard (delete),
          kill (to the dead set; retries and scheduled only), clear (delete every job)
Sets:     retries, scheduled, dead

Filter (requeue, discard and kill need one; clear takes none):
  --jobtype NAME   jobs of this jobtype
  --jid JID        this job (repeat for more); not with --jobtype or --match
  --match GLOB     a Redis glob on the job's JSON, e.g. '*ada@example.com*'
  --all            every job of the set (same as --match '*')

Example:
  ${PROGRAM} mutate requeue dead --jobtype SendEmail

${CONNECTION_HELP}`,
  options: {
    jobtype: { type: "string" },
    jid: { type: "string", multiple: true },
    match: { type: "string" },
    all: { type: "boolean" },
  },
  run: runMutate,
};

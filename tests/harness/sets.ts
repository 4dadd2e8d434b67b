/**
 * Test harness: puts jobs into the server's retry, dead and scheduled sets
 * the way real jobs get there, and reads which of them a set holds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Client, type JobPayload, randomJid } from "../../mod.ts";
import type { FaktoryServer } from "./faktory.ts";
import { jobsIn } from "./redis.ts";

/** A job of its own queue, so that a FETCH returns exactly it. */
export const job = (jobtype: string, extra: Partial<JobPayload> = {}): JobPayload => ({
  jid: randomJid(),
  jobtype,
  args: [],
  queue: `q-${randomJid().slice(0, 8)}`,
  ...extra,
});

/** Pushes, fetches and fails a job: it lands in the retry set (or dead set with retry -1). */
async function failed(client: Client, payload: JobPayload): Promise<JobPayload> {
  await client.push(payload);
  const fetched = await client.fetch([payload.queue!]);
  assert.equal(fetched?.jid, payload.jid, "fetched the job just pushed");
  await client.fail(payload.jid, new Error("boom"));
  return payload;
}

/** The job, pushed, fetched and failed: in the retry set. */
export const toRetries = (client: Client, payload: JobPayload) => failed(client, payload);
/** The job, pushed with retry -1, fetched and failed: in the dead set. */
export const toDead = (client: Client, payload: JobPayload) =>
  failed(client, { ...payload, retry: -1 });
/** The job, pushed to run in an hour: in the scheduled set. */
export const toScheduled = async (client: Client, payload: JobPayload) => {
  await client.push({ ...payload, at: new Date(Date.now() + 3_600_000).toISOString() });
  return payload;
};

/** The jids of `set` that are among `mine`, sorted. */
export async function inSet(
  server: FaktoryServer,
  set: "retries" | "scheduled" | "dead",
  mine: readonly JobPayload[],
): Promise<string[]> {
  const jids = new Set(mine.map((j) => j.jid));
  return (await jobsIn(server, set)).map((j) => j.jid as string).filter((jid) => jids.has(jid))
    .sort();
}

/** The jobs' jids, sorted. */
export const jidsOf = (jobs: readonly JobPayload[]) => jobs.map((j) => j.jid).sort();

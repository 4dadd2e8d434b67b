/**
 * Bulk pushes: jobs split into PUSHB commands, every one built (and so every
 * job checked) before the first is sent, then sent one after another with
 * what became of each job kept, so a failure part way says which jobs were
 * pushed and which were not.
 *
 * @module
 */

import {
  BulkPushError,
  ProtocolError,
  ServerError,
  ServerShuttingDownError,
  ValidationError,
} from "./errors.ts";
import { type JobPayload, MAX_JOB_BYTES, pushJson } from "./payload.ts";

/** Jobs per PUSHB at most: the server pushes them one by one and suggests about 1000. */
export const BATCH_JOBS = 1000;

/** One PUSHB command and the jids it carries. */
export interface Batch {
  readonly jids: readonly string[];
  readonly command: Uint8Array;
}

const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Encodes `count` jobs (job `i` written as JSON by `jsonOf(i)`, which checks
 * it, then named by `jidOf(i)`) into PUSHB commands of at most
 * {@linkcode BATCH_JOBS} jobs and `MAX_JOB_BYTES` of JSON each. Throws
 * `ValidationError` for any bad or oversized job, before anything is sent.
 * Each command is encoded once, from its jobs' JSON joined: not job by job
 * and copied again.
 */
export function encodeBatches(
  count: number,
  jsonOf: (i: number) => string,
  jidOf: (i: number) => string,
): Batch[] {
  const batches: Batch[] = [];
  let jids: string[] = [];
  let parts: string[] = [];
  let bytes = 0;
  const close = () => {
    if (jids.length === 0) return;
    batches.push({ jids, command: encoder.encode(`PUSHB [${parts.join(",")}]\r\n`) });
    jids = [];
    parts = [];
    bytes = 0;
  };
  for (let i = 0; i < count; i++) {
    const part = jsonOf(i);
    const jid = jidOf(i);
    // JSON of ASCII text is as many bytes as characters; only other text is encoded to count.
    const length = ASCII.test(part) ? part.length : encoder.encode(part).length;
    if (length + 2 > MAX_JOB_BYTES) {
      throw new ValidationError(
        `Job ${jid} is ${length} bytes of JSON, over the ${MAX_JOB_BYTES}-byte limit: ` +
          "pass a reference (an id, a URL) instead of the data",
      );
    }
    if (jids.length === BATCH_JOBS || bytes + parts.length + length + 2 > MAX_JOB_BYTES) {
      close();
    }
    jids.push(jid);
    parts.push(part);
    bytes += length;
  }
  close();
  return batches;
}

/** `Client.pushBulk`: each job checked and written by `pushJson`, then sent through `send`. */
export async function pushPayloads(
  jobs: readonly JobPayload[],
  namespace: string | undefined,
  send: (command: Uint8Array) => Promise<string | null>,
): Promise<Record<string, string>> {
  if (!Array.isArray(jobs)) throw new ValidationError("pushBulk takes an array of jobs");
  const batches = encodeBatches(
    jobs.length,
    (i) => pushJson(jobs[i]!, namespace, `jobs[${i}]`),
    (i) => jobs[i]!.jid,
  );
  return await sendBatches(batches, send);
}

/**
 * Sends the batches in order through `send` and resolves with the jobs the
 * server refused (`{ jid: reason }`). A failure part way rejects with
 * {@linkcode BulkPushError}, whose fields say what became of every job.
 */
export async function sendBatches(
  batches: readonly Batch[],
  send: (command: Uint8Array) => Promise<string | null>,
): Promise<Record<string, string>> {
  // Maps, not objects: a jid such as "constructor" or "__proto__" is just a key.
  const refused = new Map<string, string>();
  for (const [i, batch] of batches.entries()) {
    let theirs: Map<string, string>;
    try {
      theirs = refusals(await send(batch.command));
    } catch (cause) {
      // An error reply, or a server that is stopping, did not push the batch;
      // a lost connection or a garbled reply may have pushed any part of it.
      const refusedWhole = cause instanceof ServerError || cause instanceof ServerShuttingDownError;
      const rest = batches.slice(i + 1).flatMap((b) => b.jids);
      // Worked out only here: on success, a job costs no step of its own.
      const pushed = batches.slice(0, i).flatMap((b) => b.jids).filter((jid) => !refused.has(jid));
      throw new BulkPushError({
        pushed,
        refused: Object.fromEntries(refused),
        notPushed: refusedWhole ? [...batch.jids, ...rest] : rest,
        unknown: refusedWhole ? [] : [...batch.jids],
      }, { cause });
    }
    if (theirs.size === 0) continue;
    const ours = new Set(batch.jids); // a reply naming a jid not in the batch is ignored
    for (const [jid, reason] of theirs) if (ours.has(jid)) refused.set(jid, reason);
  }
  return Object.fromEntries(refused);
}

/** The PUSHB reply: the reason of each job refused, by jid. */
function refusals(reply: string | null): Map<string, string> {
  let value: unknown;
  try {
    value = reply === null ? {} : JSON.parse(reply);
  } catch (cause) {
    throw new ProtocolError("PUSHB reply is not valid JSON", { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("PUSHB reply is not an object of refused jobs");
  }
  return new Map(Object.entries(value).map(([jid, why]) => [jid, String(why)]));
}

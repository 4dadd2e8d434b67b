/**
 * Filling a Faktory Enterprise batch in a scope: the jobs pushed by a
 * function join the batch, and the batch is committed only if the function
 * returns. Shared by `Producer`, a handler's `context.jobs` and the test
 * doubles of `./testing`; no connection code.
 *
 * @module
 */

import { BatchNotCommittedError } from "../errors.ts";
import type { JobOptions } from "../job.ts";
import { validateWord } from "../protocol/command.ts";
import type { BulkJob, JobPusher, PerformOptions } from "../push.ts";

/**
 * Runs `fill` with a pusher whose jobs join batch `bid`, then commits the
 * batch with `commit`. If `fill` throws, the batch is not committed and
 * {@linkcode BatchNotCommittedError} says so, with what was thrown as its
 * cause. The scope of faktory_worker_haskell's `runBatch` and Go's `Batch.Jobs`.
 */
export async function fillBatch<T>(
  pusher: JobPusher,
  bid: string,
  fill: (jobs: JobPusher, bid: string) => T | Promise<T>,
  commit: (bid: string) => Promise<void>,
): Promise<T> {
  let result: T;
  try {
    result = await fill(inBatch(pusher, validateWord(bid, "batch id")), bid);
  } catch (e) {
    throw new BatchNotCommittedError(bid, e);
  }
  await commit(bid);
  return result;
}

/** `pusher`, with every job it pushes joining batch `bid` (`custom.bid`). */
function inBatch(pusher: JobPusher, bid: string): JobPusher {
  const join = <Args extends readonly unknown[]>(options: PerformOptions<Args>) =>
    [...(Array.isArray(options) ? options : [options]), { batchId: bid }] as unknown as readonly [
      ...JobOptions[],
    ];
  return {
    perform: (options, args) => pusher.perform(join(options), args),
    performBulk: (options, argsList) => pusher.performBulk(join(options), argsList),
    performMany: (jobs) =>
      pusher.performMany((jobs as readonly BulkJob[]).map(([o, a]) => [join(o), a] as const)),
    // Batches nest only when asked (`parentBid`), as in every Faktory client.
    batch: (options, fill) => pusher.batch(options, fill),
    openBatch: (other, fill) => pusher.openBatch(other, fill),
  };
}

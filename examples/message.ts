/**
 * The job type the examples share: one definition, used by the producer to
 * push and by the consumer to handle, so both agree on the arguments.
 */
import { defineJob, type JobHandler } from "../mod.ts";

/** A message to print. */
export const PrintMessage = defineJob<[message: string]>("PrintMessage");

/** Prints the message; fails on "BOOM" so a failed job shows up in Faktory. */
export const printMessage: JobHandler<[message: string]> = (job, { logger }) => {
  const [message] = job.args;
  if (message === "BOOM") throw new Error(`Job ${job.jid} asked to fail`);
  logger.info(`${job.jid}: ${message}`);
};

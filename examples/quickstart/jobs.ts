// examples/quickstart/jobs.ts: one definition, shared by producer and worker
import { defineJob } from "@faktory-ts/faktory";

export const SendEmail = defineJob<[to: string, subject: string]>("SendEmail", { queue: "mail" });

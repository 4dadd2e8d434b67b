// examples/quickstart/signup.ts: application code, written against interfaces
import type { HandlerRegistry, JobPusher } from "@faktory-ts/faktory";
import { SendEmail } from "./jobs.ts";
import { sendMail } from "./mailer.ts";

export function registerHandlers(registry: HandlerRegistry): void {
  registry.register(SendEmail, (job, { signal }) => sendMail(job.args[0], job.args[1], { signal }));
}

export async function signUp(jobs: JobPusher, email: string): Promise<void> {
  await jobs.perform(SendEmail, [email, "Welcome"]);
}

// examples/quickstart/worker.ts: a long-running process that works jobs
import { Worker } from "@faktory-ts/faktory";
import { SendEmail } from "./jobs.ts";
import { sendMail } from "./mailer.ts";

const worker = new Worker({ queues: ["mail", "default"], concurrency: 10, handleSignals: true });
worker.register(SendEmail, async (job, { signal, logger }) => {
  const [to, subject] = job.args;
  await sendMail(to, subject, { signal }); // pass the signal on: it aborts at the reservation's end
  logger.info(`sent ${subject} to ${to}`);
});
await worker.run(); // until SIGTERM/SIGINT, worker.stop(), or "terminate" from the web UI

/**
 * `deno task example`: a short end-to-end run. Uses FAKTORY_URL when set,
 * otherwise starts a local Faktory (installing it on first use); pushes a few
 * messages, one of them "BOOM", works them off, reports what was ACKed and
 * what was FAILed, and exits.
 */
import process from "node:process";
import { Producer, Worker } from "../mod.ts";
import { startFaktory } from "../tests/harness/faktory.ts";
import { PrintMessage, printMessage } from "./message.ts";

// deno-lint-ignore no-console
const say = console.log;
const local = process.env.FAKTORY_URL ? undefined : await startFaktory();
if (local) say(`Started a local Faktory at ${local.url}`);
const url = local?.url ?? process.env.FAKTORY_URL!;
// A queue of its own, so a real server's other jobs are left alone.
const queue = `demo-${Date.now().toString(36)}`;

try {
  await using producer = await Producer.connect({ url, poolSize: 1 });
  const messages = ["hello", "from", "faktory-ts", "BOOM"];
  // retry: 0 so the BOOM job is reported and discarded, not retried later.
  const jids = await producer.performBulk(
    [PrintMessage, { queue, retry: 0 }],
    messages.map((m) => [m] as [string]),
  );
  say(`Pushed ${jids.length} jobs to queue ${queue}`);

  const worker = new Worker({
    url,
    queues: [queue],
    concurrency: 2,
    logger: { ...console, info: () => {} },
  });
  worker.register(PrintMessage, (job, context) => {
    say(`  running ${job.jid}: ${job.args[0]}`);
    return printMessage(job, context);
  });
  const acked: string[] = [];
  const failed: string[] = [];
  worker.on("success", (job) => acked.push(job.args[0] as string));
  worker.on("failure", (job, error) => failed.push(`${job.args[0]} (${(error as Error).message})`));
  const running = worker.run();
  while (acked.length + failed.length < jids.length) await new Promise((r) => setTimeout(r, 50));
  await worker.stop();
  await running;
  say(`ACKed ${acked.length}: ${acked.join(", ")}`);
  say(`FAILed ${failed.length}: ${failed.join(", ")}`);
} finally {
  await local?.stop();
}

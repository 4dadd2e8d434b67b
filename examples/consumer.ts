/**
 * Prints each message it is sent; throws on "BOOM" so a failed job shows in
 * Faktory's retry set. Stops cleanly on Ctrl-C or SIGTERM.
 *
 *   deno run -A examples/consumer.ts
 *   bun run examples/consumer.ts
 */
import { Worker } from "../mod.ts";
import { PrintMessage, printMessage } from "./message.ts";

const worker = new Worker({ handleSignals: true });
worker.register(PrintMessage, printMessage);
await worker.run();

/**
 * Pushes its command-line words as one message and prints the jid.
 *
 *   deno run -A examples/producer.ts hello world
 *   bun run examples/producer.ts hello world
 *   FAKTORY_URL=tcp://:password@host:7419 node build/node/examples/producer.js hello world
 */
import process from "node:process";
import { Producer } from "../mod.ts";
import { PrintMessage } from "./message.ts";

await using producer = await Producer.connect({ poolSize: 1 });
const jid = await producer.perform(PrintMessage, [process.argv.slice(2).join(" ")]);
// deno-lint-ignore no-console
console.log(jid);

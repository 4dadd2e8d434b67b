// examples/app/push.ts: what the web app does when a file is uploaded
import process from "node:process";
import { Producer } from "../../mod.ts";
import { ImportOrders } from "./jobs.ts";

const [fileId = "orders.csv", flag] = process.argv.slice(2);
await using producer = await Producer.connect();
// --track: follow the import's progress (needs Faktory Enterprise).
const jid = await producer.perform([ImportOrders, { tracked: flag === "--track" }], [fileId]);
process.stdout.write(`${jid}\n`);

// examples/quickstart/producer.ts: any process that pushes jobs
import { Producer } from "@faktory-ts/faktory";
import { SendEmail } from "./jobs.ts";

await using producer = await Producer.connect(); // FAKTORY_URL, else tcp://localhost:7419
const jid = await producer.perform(SendEmail, ["ada@example.com", "Welcome"]);
await producer.perform([SendEmail, { in: 3600, retry: 3 }], ["ada@example.com", "Day two"]);
void jid;

// examples/app/jobs.ts: the app's job types, shared by the code that pushes and the worker
import { defineJob } from "../../mod.ts"; // "@faktory-ts/faktory" in your app

/** Imports the orders of an uploaded file. */
export const ImportOrders = defineJob<[fileId: string]>("ImportOrders", { queue: "imports" });
/** Emails the receipt of one order. */
export const SendReceipt = defineJob<[orderId: number]>("SendReceipt", { queue: "mail" });

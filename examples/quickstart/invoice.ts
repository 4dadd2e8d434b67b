// examples/quickstart/invoice.ts: a job type whose arguments a zod schema checks
import { defineJob } from "@faktory-ts/faktory";
import { z } from "zod";

export const SendInvoice = defineJob("SendInvoice", {
  queue: "billing",
  // Pushed as [invoice id, due day such as "2030-01-31"]; the handler gets the day as a Date.
  schema: z.tuple([z.uuid(), z.iso.date().transform((day) => new Date(`${day}T00:00:00Z`))]),
});

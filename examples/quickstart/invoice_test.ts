// examples/quickstart/invoice_test.ts: checked at push, transformed in the worker
import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError } from "@faktory-ts/faktory";
import { inline } from "@faktory-ts/faktory/testing";
import { SendInvoice } from "./invoice.ts";

test("an invoice job is checked when pushed, and its handler gets a Date", async () => {
  const due: Date[] = [];
  const jobs = inline().register(SendInvoice, (job) => void due.push(job.args[1]));
  await jobs.perform(SendInvoice, [crypto.randomUUID(), "2030-01-31"]);
  assert.deepEqual(due, [new Date("2030-01-31T00:00:00Z")]);

  // Refused before anything is sent, each issue named:
  // "Invalid arguments for SendInvoice: args[0]: Invalid UUID; args[1]: Invalid ISO date"
  await assert.rejects(jobs.perform(SendInvoice, ["42", "next Tuesday"]), ValidationError);
});

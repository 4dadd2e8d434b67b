// examples/app/worker.ts: the worker process, with the database opened and closed by hooks
import process from "node:process";
import { Worker } from "../../mod.ts";
import { Database } from "./db.ts";
import { registerHandlers } from "./handlers.ts";

const db = new Database(process.env.DATABASE_URL ?? "memory://orders");
const worker = new Worker({
  queues: ["imports", "mail"],
  handleSignals: true, // SIGTERM stops, SIGTSTP quiets, SIGTTIN lists the running jobs
  context: () => ({ db }), // every handler gets ctx.db, typed
  hooks: {
    startup: () => db.connect(), // before the first job; if it throws, run() rejects
    shutdown: () => db.close(), // after the last job, before the connections close
  },
});
registerHandlers(worker);
await worker.run();

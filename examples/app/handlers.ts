// examples/app/handlers.ts: the handlers, typed by the values the worker gives them
import type { HandlerRegistry } from "../../mod.ts";
import type { Database } from "./db.ts";
import { ImportOrders, SendReceipt } from "./jobs.ts";

/** What every handler gets in its context, besides what the library puts there. */
export interface App {
  readonly db: Database;
}

export function registerHandlers(registry: HandlerRegistry<App>): void {
  registry.register(ImportOrders, async (job, { db, jobs, progress, signal }) => {
    const rows = await db.readFile(job.args[0], signal);
    for (const [i, row] of rows.entries()) {
      const orderId = await db.insertOrder(row);
      // A follow-up job, pushed over the worker's own connections.
      await jobs.perform(SendReceipt, [orderId]);
      // Progress for the web UI: tracked jobs, on Faktory Enterprise.
      if (job.tracked) {
        await progress({ percent: Math.round((100 * (i + 1)) / rows.length) });
      }
    }
  });
  registry.register(SendReceipt, async (job, { db, logger }) => {
    const order = await db.order(job.args[0]);
    logger.info(`receipt for order ${order.id} sent to ${order.email}`);
  });
}

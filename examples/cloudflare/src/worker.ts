// examples/cloudflare/src/worker.ts: a Cloudflare Worker that enqueues a job per request
import { defineJob, Producer } from "@faktory-ts/faktory/cloudflare";

/** The job this Worker pushes; a worker on Deno, Bun or Node registers the same type. */
export const RecordVisit = defineJob<[path: string, userAgent: string, at: string]>(
  "RecordVisit",
  { queue: "visits" },
);

export default {
  async fetch(request: Request): Promise<Response> {
    try {
      // FAKTORY_URL comes from the Worker's bindings (a secret: it holds the password).
      // One connection per request: a Worker cannot reuse another request's socket.
      await using producer = await Producer.connect({ poolSize: 1 });
      const { pathname } = new URL(request.url);
      const agent = request.headers.get("user-agent") ?? "";
      const jid = await producer.perform(RecordVisit, [pathname, agent, new Date().toISOString()]);
      return Response.json({ jid }, { status: 202 });
    } catch (error) {
      // Messages never hold the password; the error's name says what failed.
      const { name, message } = error as Error;
      return Response.json({ error: { name, message } }, { status: 503 });
    }
  },
};

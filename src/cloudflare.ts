/**
 * Faktory producers for Cloudflare Workers: the `@faktory-ts/faktory/cloudflare`
 * entry point. It holds what pushes jobs and talks to the server
 * ({@linkcode Producer}, {@linkcode Client}, job types, errors) over
 * `cloudflare:sockets`, and loads nothing of Deno, Bun or Node: bundled as
 * wrangler does, it imports only `cloudflare:sockets` and `cloudflare:workers`,
 * with no `nodejs_compat` flag.
 *
 * Settings come from the Worker's bindings: `FAKTORY_URL` (a secret, as it
 * may hold a password), `FAKTORY_QUEUE`, `FAKTORY_POOL_SIZE`, or options in
 * code. Connect while handling a request and close before it ends: workerd
 * does not let one request use a socket another one opened. There is no
 * `Worker` here: its fetch loops outlive a request.
 *
 * @example
 * ```ts ignore
 * import { defineJob, Producer } from "@faktory-ts/faktory/cloudflare";
 *
 * const SendEmail = defineJob<[to: string]>("SendEmail", { queue: "mail" });
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     await using producer = await Producer.connect({ poolSize: 1 }); // FAKTORY_URL binding
 *     const jid = await producer.perform(SendEmail, [new URL(request.url).searchParams.get("to")!]);
 *     return Response.json({ jid });
 *   },
 * };
 * ```
 *
 * @module
 */

import { setDefaultRuntime } from "./runtime/default.ts";
import { cloudflareRuntime } from "./runtime/cloudflare.ts";

export * from "./api.ts";
export { cloudflareRuntime };

// Connections use cloudflare:sockets unless the runtime option says otherwise.
setDefaultRuntime({ env: cloudflareRuntime.env, load: () => Promise.resolve(cloudflareRuntime) });

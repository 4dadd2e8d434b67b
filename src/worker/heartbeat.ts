/**
 * The heartbeat: a BEAT every `heartbeatInterval` on a connection of its
 * own, which tells the server the worker is alive (and quiet, once it is)
 * and brings back the server's quiet and terminate.
 *
 * @module
 */

import { sleep } from "../backoff.ts";
import type { WorkerState } from "../beat.ts";
import { type Client, openClient } from "../client.ts";
import type { ClientConfig } from "../client_options.ts";
import { ServerError } from "../errors.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Events, WorkerStatus } from "./events.ts";

/** What the heartbeat needs from its worker. */
export interface HeartbeatHost {
  readonly client: ClientConfig;
  readonly runtime: Runtime;
  readonly events: Events;
  readonly interval: number;
  status(): WorkerStatus;
  /** Aborts on quiet (to tell the server at once), then on stop. */
  wakeUp(): AbortSignal;
  /** What the server asked for. */
  obey(state: WorkerState): void;
}

/**
 * Beats on `heartbeat` (the connection that said HELLO first, so the server
 * sends quiet and terminate to it) until the worker stops.
 */
export async function beat(heartbeat: Client, host: HeartbeatHost): Promise<void> {
  let client = heartbeat;
  const beating = () => host.status() === "running" || host.status() === "quiet";
  while (beating()) {
    await sleep(host.interval, host.wakeUp());
    if (!beating()) break;
    try {
      const rssKb = host.runtime.rssKb();
      const state = await client.beat({
        ...(host.status() === "quiet" ? { state: "quiet" as const } : {}),
        ...(rssKb !== undefined ? { rssKb } : {}),
      });
      if (state !== null) host.obey(state);
    } catch (e) {
      host.events.error(e);
      if (e instanceof ServerError && /unknown worker/i.test(e.message)) {
        // The server forgot this worker (it was reaped): a fresh HELLO
        // registers it again. Until that works, keep the old client. A stop
        // (or quiet: the next beat tries again) ends the connect.
        const fresh = await openClient(host.client, host.wakeUp()).catch((err) => {
          host.events.error(err);
          return undefined;
        });
        if (fresh !== undefined) {
          if (client !== heartbeat) await client.close();
          client = fresh;
        }
      }
    }
  }
  if (client !== heartbeat) await client.close();
}

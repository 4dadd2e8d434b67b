/**
 * Test harness: what the reliability tests watch besides results: unhandled
 * rejections, log lines, connect attempts, heap size, and the server's
 * reservations.
 *
 * @module
 */
import process from "node:process";
import { inspect } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";
import {
  type Client,
  ConnectionError,
  type JobPayload,
  loadRuntime,
  type Logger,
  randomJid,
  type Runtime,
} from "../../mod.ts";
import type { FaktoryServer } from "./faktory.ts";
import { redis } from "./redis.ts";

/** Every rejection nobody handled, from now on in this process. */
export function unhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  process.on("unhandledRejection", (reason) => void unhandled.push(reason));
  return unhandled;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A job for `queue` with a fresh jid. */
export const job = (queue: string, extra: Partial<JobPayload> = {}): JobPayload => ({
  jid: randomJid(),
  jobtype: "Test",
  args: [],
  queue,
  ...extra,
});

/** A full garbage collection: V8's (Node and Deno), or Bun's own `gc(true)`. */
const gc = (() => {
  const bun = (globalThis as { Bun?: { gc?: (full: boolean) => void } }).Bun;
  if (bun?.gc) return () => bun.gc!(true);
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

/** Heap in use, after a full collection when one can be forced. */
export function liveHeap(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

const base = await loadRuntime();

/** The runtime of this process, counting connect attempts. */
export function countingRuntime(): Runtime & { connects: number } {
  const counting = {
    ...base,
    connects: 0,
    connect(options: Parameters<Runtime["connect"]>[0]) {
      counting.connects++;
      return base.connect(options);
    },
  };
  return counting;
}

/** A logger that keeps every line, data included, as text. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, ...data: unknown[]) =>
    void lines.push([level, message, ...data.map((d) => inspect(d, { depth: 5 }))].join(" "));
  return {
    lines,
    debug: keep("debug"),
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
  };
}

/** Pushes until the server confirms; returns whether it had to push again (a duplicate is possible). */
export async function pushSurely(client: Client, payload: JobPayload): Promise<boolean> {
  for (let attempt = 0;; attempt++) {
    try {
      await client.push(payload);
      return attempt > 0;
    } catch (e) {
      if (!(e instanceof ConnectionError) || attempt > 200) throw e;
      await sleep(20);
    }
  }
}

/** Jids reserved by the server (fetched, not yet ACKed or FAILed). */
export async function working(server: FaktoryServer): Promise<Set<string>> {
  const entries = await redis(server, "ZRANGE", "working", "0", "-1");
  return new Set(entries.map((e) => (JSON.parse(e) as { job: { jid: string } }).job.jid));
}

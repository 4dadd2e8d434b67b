/**
 * Reads a test server's Redis directly (through redis-cli on its Unix
 * socket), to check what Faktory stored: queues, and the retry, scheduled
 * and dead sets.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { atLeast, type FaktoryServer } from "./faktory.ts";

/** Runs one Redis command against the server's own Redis; returns its output lines. */
export function redis(server: FaktoryServer, ...args: string[]): Promise<string[]> {
  const socket = path.join(server.dir, "db", "redis.sock");
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-s", socket, "--raw", ...args], (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split("\n").filter((line) => line !== ""));
    });
  });
}

/**
 * The Redis key of a queue: Faktory 1.10.0 keeps queue `q` under `q:q`, so
 * that no queue name can collide with its other keys; 1.9.4 kept it as `q`.
 */
export function queueKey(server: FaktoryServer, queue: string): string {
  return atLeast(server.version, "1.10.0") ? `q:${queue}` : queue;
}

/** The jobs waiting in a queue (next to run last), parsed. */
export async function jobsQueued(
  server: FaktoryServer,
  queue: string,
): Promise<Record<string, unknown>[]> {
  return (await redis(server, "LRANGE", queueKey(server, queue), "0", "-1")).map((line) =>
    JSON.parse(line)
  );
}

/** The jobs in a sorted set (`retries`, `scheduled`, `dead`), parsed. */
export async function jobsIn(
  server: FaktoryServer,
  set: "retries" | "scheduled" | "dead",
): Promise<Record<string, unknown>[]> {
  return (await redis(server, "ZRANGE", set, "0", "-1")).map((line) => JSON.parse(line));
}

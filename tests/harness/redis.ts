/**
 * Reads a test server's Redis directly (through redis-cli on its Unix
 * socket), to check what Faktory stored: retry, scheduled and dead sets.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import type { FaktoryServer } from "./faktory.ts";

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

/** The jobs in a sorted set (`retries`, `scheduled`, `dead`), parsed. */
export async function jobsIn(
  server: FaktoryServer,
  set: "retries" | "scheduled" | "dead",
): Promise<Record<string, unknown>[]> {
  return (await redis(server, "ZRANGE", set, "0", "-1")).map((line) => JSON.parse(line));
}

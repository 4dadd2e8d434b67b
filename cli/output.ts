/**
 * What the command line prints: stdout for results, stderr for messages and
 * logs, with every secret it was given (the server's password) taken out.
 *
 * @module
 */

import process from "node:process";

/** Strings never to print: the password, raw, URL-encoded and JSON-escaped. */
const secrets = new Set<string>();

/** Adds a password to the strings {@linkcode redact} takes out. */
export function addSecret(secret: string | undefined): void {
  if (secret === undefined || secret === "") return;
  secrets.add(secret);
  secrets.add(encodeURIComponent(secret));
  secrets.add(JSON.stringify(secret).slice(1, -1));
}

/** The text with every secret replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

/** Writes a line to stdout, redacted. */
export const stdout = (text: string): void => void process.stdout.write(redact(text) + "\n");
/** Writes a line to stderr, redacted. */
export const stderr = (text: string): void => void process.stderr.write(redact(text) + "\n");

/** Resolves once what was written to stdout and stderr has been handed to the OS. */
export async function flush(): Promise<void> {
  await Promise.all(
    [process.stdout, process.stderr].map((stream) =>
      new Promise<void>((resolve) => {
        try {
          stream.write("", () => resolve());
        } catch {
          resolve(); // a closed pipe: nothing more can be written anyway
        }
      })
    ),
  );
}

/** `3725` seconds -> `1h 2m`: the two largest units. */
export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean).slice(0, 2).join(" ");
}

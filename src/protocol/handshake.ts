/**
 * The HI/HELLO handshake: parsing the server's greeting and building the
 * client's answer, with the password hash computed through Web Crypto.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import { toHex } from "./hex.ts";

/** The protocol version this library speaks. */
export const PROTOCOL_VERSION = 2;

/** The server's greeting: protocol version, and hash parameters when a password is set. */
export interface Hi {
  readonly v: number;
  /** Hash iterations, present when the server wants a password. */
  readonly i?: number;
  /** Salt, present when the server wants a password. */
  readonly s?: string;
}

/** Parses the text of `+HI {...}`. */
export function parseHi(line: string): Hi {
  if (!line.startsWith("HI ")) {
    throw new ProtocolError(`Expected the greeting "HI", got ${JSON.stringify(line.slice(0, 40))}`);
  }
  let hi: unknown;
  try {
    hi = JSON.parse(line.slice(3));
  } catch (cause) {
    throw new ProtocolError("The server's greeting is not valid JSON", { cause });
  }
  if (typeof hi !== "object" || hi === null || typeof (hi as Hi).v !== "number") {
    throw new ProtocolError("The server's greeting has no protocol version");
  }
  const { v, i, s } = hi as Record<string, unknown>;
  if (i === undefined && s === undefined) return { v: v as number };
  if (typeof i !== "number" || !Number.isInteger(i) || i < 1 || i > 1_000_000) {
    throw new ProtocolError("The server's greeting has an invalid iteration count");
  }
  if (typeof s !== "string") throw new ProtocolError("The server's greeting has an invalid salt");
  return { v: v as number, i, s };
}

/**
 * Hex of SHA-256 applied `iterations` times: first over `password + salt`,
 * then over the previous 32-byte digest.
 */
export async function hashPassword(
  password: string,
  salt: string,
  iterations: number,
): Promise<string> {
  let digest: ArrayBuffer = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(password + salt),
  );
  for (let i = 1; i < iterations; i++) digest = await crypto.subtle.digest("SHA-256", digest);
  return toHex(new Uint8Array(digest));
}

/** What a client says about itself in HELLO. */
export interface HelloFields {
  readonly hostname: string;
  readonly pid: number;
  readonly labels: readonly string[];
  /** Worker id: only workers send it, it registers a heartbeat entry. */
  readonly wid?: string | undefined;
}

/** Builds the HELLO payload, hashing the password if the server asked for one. */
export async function hello(
  hi: Hi,
  fields: HelloFields,
  password: string | undefined,
): Promise<Record<string, unknown>> {
  const payload: Record<string, unknown> = {
    v: PROTOCOL_VERSION,
    hostname: fields.hostname,
    pid: fields.pid,
    labels: fields.labels,
  };
  if (fields.wid !== undefined) payload.wid = fields.wid;
  if (hi.i !== undefined && hi.s !== undefined && password !== undefined) {
    payload.pwdhash = await hashPassword(password, hi.s, hi.i);
  }
  return payload;
}

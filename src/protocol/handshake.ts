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

/**
 * Most hash iterations a greeting may ask for. Faktory sends 4000 + rand(4096),
 * i.e. 4000-8095 (`startConnection` in server/server.go, the same in v1.9.4
 * and v1.10.0). Twice the top leaves room for a future server, and bounds the
 * work a hostile one can demand: 16 384 digests take 0.2-0.6 s here, about all
 * the server's 2 s HELLO deadline would leave a client anyway.
 */
export const MAX_HASH_ITERATIONS = 16_384;

/** Parses the text of `+HI {...}`; a greeting no Faktory sends is a `ProtocolError`. */
export function parseHi(line: string): Hi {
  if (!line.startsWith("HI ")) {
    throw new ProtocolError(`Expected the greeting "HI", got ${quote(line)}`);
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
  if (typeof i !== "number" || !Number.isInteger(i) || i < 1) {
    throw new ProtocolError(
      `The server's greeting has an invalid password hash iteration count ${quote(i)}`,
    );
  }
  if (i > MAX_HASH_ITERATIONS) {
    throw new ProtocolError(
      `The server's greeting asks for ${i} password hash iterations: Faktory sends 4000-8095 ` +
        `and this client computes at most ${MAX_HASH_ITERATIONS}; is this a Faktory server?`,
    );
  }
  if (typeof s !== "string") {
    throw new ProtocolError(`The server's greeting has an invalid password salt ${quote(s)}`);
  }
  return { v: v as number, i, s };
}

/** A value from the server, short and quoted, for a message. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * Hex of SHA-256 applied `iterations` times: first over `password + salt`,
 * then over the previous 32-byte digest. Each digest is awaited, so the
 * event loop keeps running; `signal` is checked between digests, so an abort
 * or timeout stops the work at once rather than after the whole chain.
 */
export async function hashPassword(
  password: string,
  salt: string,
  iterations: number,
  signal?: AbortSignal,
): Promise<string> {
  let digest: ArrayBuffer = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(password + salt),
  );
  for (let i = 1; i < iterations; i++) {
    signal?.throwIfAborted();
    digest = await crypto.subtle.digest("SHA-256", digest);
  }
  return toHex(new Uint8Array(digest));
}

/** What a client says about itself in HELLO. */
export interface HelloFields {
  readonly hostname: string;
  readonly pid: number;
  readonly labels: readonly string[];
  /** Worker id: only workers send it, it registers a heartbeat entry. */
  readonly wid?: string | undefined;
  /** From the URL's userinfo, for a proxy in front of the server; Faktory ignores it. */
  readonly username?: string | undefined;
}

/**
 * Builds the HELLO payload, hashing the password if the server asked for one;
 * the hashing stops when `signal` aborts.
 */
export async function hello(
  hi: Hi,
  fields: HelloFields,
  password: string | undefined,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const payload: Record<string, unknown> = {
    v: PROTOCOL_VERSION,
    hostname: fields.hostname,
    pid: fields.pid,
    labels: fields.labels,
  };
  if (fields.wid !== undefined) payload.wid = fields.wid;
  if (fields.username !== undefined) payload.username = fields.username;
  if (hi.i !== undefined && hi.s !== undefined && password !== undefined) {
    payload.pwdhash = await hashPassword(password, hi.s, hi.i, signal);
  }
  return payload;
}

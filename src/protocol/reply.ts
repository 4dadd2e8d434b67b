/**
 * Incremental reader for the RESP subset Faktory replies with: `+simple`,
 * `-CODE message`, `$len` bulk strings and the `$-1` null. Pure: bytes in,
 * replies out. Chunks may split a reply at any byte or hold many replies.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";

/** An error reply (`-CODE message`); `line` is everything after the `-`. */
export class ErrorReply {
  /** Wraps the text of an error reply. */
  constructor(readonly line: string) {}
}

/** One decoded reply: a simple or bulk string, `null` for `$-1`, or an error. */
export type Reply = string | null | ErrorReply;

const CR = 13;
const LF = 10;
const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();

/** Longest header line accepted before the reply is taken for garbage. */
export const MAX_LINE = 64 * 1024;
/** Largest bulk reply accepted (INFO of a very busy server stays far below). */
export const MAX_BULK = 64 * 1024 * 1024;

/**
 * Feed it chunks with {@linkcode ReplyReader.feed}, take complete replies with
 * {@linkcode ReplyReader.next}. Chunks are kept as given until a whole reply
 * is there, then joined once: no copying per chunk and no quadratic growth.
 * Throws {@linkcode ProtocolError} on bytes that are not a reply; the stream
 * cannot be resynchronised after that and the connection must be closed.
 */
export class ReplyReader {
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Bytes (from #pos) needed before parsing can make progress. */
  #need = 1;
  /**
   * Waiting for the CRLF that ends a header line: chunks are then joined
   * only once one holds it (or the line is over the limit), so a line that
   * trickles in is not copied again for every chunk.
   */
  #lineOpen = false;
  /**
   * Largest bulk reply accepted; the handshake lowers it, as a greeting and
   * a HELLO reply are short lines.
   */
  maxBulk: number = MAX_BULK;

  /** Adds bytes received from the server. The chunk must not be reused by the caller. */
  feed(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#pos === this.#buf.length) {
      this.#buf = chunk;
      this.#pos = 0;
      return;
    }
    const last = (this.#pending.at(-1) ?? this.#buf).at(-1);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const ready = this.#lineOpen
      ? findCrlf(chunk, 1) >= 0 || (chunk[0] === LF && last === CR) || this.buffered > MAX_LINE
      : this.buffered >= this.#need;
    if (ready) this.#join();
  }

  /** Bytes received but not yet returned as replies. */
  get buffered(): number {
    return this.#buf.length - this.#pos + this.#pendingBytes;
  }

  /** The next complete reply, or `undefined` until more bytes arrive. */
  next(): Reply | undefined {
    const buf = this.#buf;
    const start = this.#pos;
    // Garbage is refused on its first byte, not after a line that may never end.
    const first = buf[start];
    if (first !== undefined && first !== 0x2b && first !== 0x2d && first !== 0x24) {
      throw new ProtocolError(
        `Unexpected reply type ${JSON.stringify(String.fromCharCode(first))}`,
      );
    }
    const lineEnd = findCrlf(buf, start + 1);
    if (lineEnd < 0) {
      if (buf.length - start > MAX_LINE) {
        throw new ProtocolError(`Reply line longer than ${MAX_LINE} bytes`);
      }
      this.#lineOpen = true;
      return undefined;
    }
    const type = buf[start];
    if (type === 0x2b /* + */) {
      this.#pos = lineEnd + 2;
      // `+OK`, the reply to most commands (PUSH, ACK, FAIL), without a decode.
      if (lineEnd - start === 3 && buf[start + 1] === 0x4f && buf[start + 2] === 0x4b) return "OK";
      return decoder.decode(buf.subarray(start + 1, lineEnd));
    }
    if (type === 0x2d /* - */) {
      this.#pos = lineEnd + 2;
      return new ErrorReply(decoder.decode(buf.subarray(start + 1, lineEnd)));
    }
    if (type === 0x24 /* $ */) {
      const length = parseLength(buf, start + 1, lineEnd, this.maxBulk);
      if (length === -1) {
        this.#pos = lineEnd + 2;
        return null;
      }
      const bodyEnd = lineEnd + 2 + length;
      if (buf.length < bodyEnd + 2) return this.#wait(bodyEnd + 2 - start);
      if (buf[bodyEnd] !== CR || buf[bodyEnd + 1] !== LF) {
        throw new ProtocolError("Bulk reply is not followed by CRLF");
      }
      this.#pos = bodyEnd + 2;
      return decoder.decode(buf.subarray(lineEnd + 2, bodyEnd));
    }
    throw new ProtocolError(
      `Unexpected reply type ${JSON.stringify(String.fromCharCode(type ?? 0))}`,
    );
  }

  /** Records how many bytes the current reply needs and joins what is there if enough. */
  #wait(need: number): Reply | undefined {
    this.#need = need;
    if (this.#pendingBytes > 0 && this.buffered >= need) {
      this.#join();
      return this.next();
    }
    return undefined;
  }

  #join(): void {
    const rest = this.#buf.subarray(this.#pos);
    const joined = new Uint8Array(rest.length + this.#pendingBytes);
    joined.set(rest, 0);
    let offset = rest.length;
    for (const chunk of this.#pending) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    this.#buf = joined;
    this.#pos = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#need = 1;
    this.#lineOpen = false;
  }
}

function findCrlf(buf: Uint8Array, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i > 0) {
    if (buf[i - 1] === CR) return i - 1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

function parseLength(buf: Uint8Array, from: number, to: number, max: number): number {
  if (to - from === 2 && buf[from] === 0x2d && buf[from + 1] === 0x31) return -1;
  if (to === from || to - from > 10) throw new ProtocolError("Invalid bulk length");
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = buf[i]! - 0x30;
    if (digit < 0 || digit > 9) throw new ProtocolError("Invalid bulk length");
    n = n * 10 + digit;
  }
  if (n > max) throw new ProtocolError(`Bulk reply of ${n} bytes exceeds ${max}`);
  return n;
}

/** A bulk reply's JSON (`null` for `$-1`); garbage is a {@linkcode ProtocolError} naming the command. */
export function parseJsonReply(reply: string | null, verb: string): unknown {
  if (reply === null) return null;
  try {
    return JSON.parse(reply);
  } catch (cause) {
    throw new ProtocolError(`${verb} reply is not valid JSON`, { cause });
  }
}

/**
 * Encoding of client commands. Faktory reads one line per command and splits
 * some commands on spaces, so every argument is checked here: nothing that
 * could end the line early or add an argument ever reaches the socket.
 *
 * @module
 */

import { show, ValidationError } from "../errors.ts";

const QUEUE_NAME = /^[a-zA-Z0-9._-]+$/;
/** A word in a space-separated command: no whitespace, no control characters. */
// deno-lint-ignore no-control-regex
const WORD = /^[^\s\x00-\x1f\x7f]+$/;
const encoder = new TextEncoder();

/** What a queue name may hold, said as a fix. */
export const QUEUE_HINT = 'use only letters, digits, ".", "_" and "-"';
/** What a word (an id) may hold, said as a fix. */
export const WORD_HINT = "it must be a non-empty string without spaces or control characters";

/** Whether the server accepts `value` as a queue name. */
export function isQueueName(value: unknown): value is string {
  return typeof value === "string" && QUEUE_NAME.test(value);
}

/** Whether `value` can be one word of a space-separated command. */
export function isWord(value: unknown): value is string {
  return typeof value === "string" && WORD.test(value);
}

/**
 * Checks a queue name against what the server accepts. The error names the
 * offending value so the caller can fix it.
 */
export function validateQueue(queue: unknown, field = "queue"): string {
  if (!isQueueName(queue)) {
    throw new ValidationError(`Invalid ${field} ${show(queue)}: ${QUEUE_HINT}`);
  }
  return queue;
}

/** Checks one word of a space-separated command (an id such as a jid or batch id). */
export function validateWord(value: unknown, field: string): string {
  if (!isWord(value)) {
    throw new ValidationError(`Invalid ${field} ${show(value)}: ${WORD_HINT}`);
  }
  return value;
}

/**
 * Checks the jid of an ACK or FAIL: any non-empty string, since it travels
 * inside JSON. Jobs pushed by other clients may have spaces in their jids;
 * they must still be reported.
 */
export function validateJid(value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new ValidationError(`Invalid jid ${show(value)}: use the job's jid, a non-empty string`);
  }
  return value;
}

/** `VERB arg arg\r\n` for commands whose arguments were validated as words. */
export function words(verb: string, args: readonly string[]): Uint8Array {
  return encoder.encode(args.length === 0 ? `${verb}\r\n` : `${verb} ${args.join(" ")}\r\n`);
}

/**
 * `VERB {json}\r\n`. `JSON.stringify` never emits a raw CR or LF, so the
 * payload stays on one line; a value JSON cannot hold is refused.
 */
export function withJson(verb: string, payload: unknown): Uint8Array {
  return encoder.encode(`${verb} ${json(payload)}\r\n`);
}

/** `ACK {"jid":"…"}`, the most frequent command, without an object to stringify. */
export function ack(jid: string): Uint8Array {
  return encoder.encode(`ACK {"jid":${JSON.stringify(jid)}}\r\n`);
}

/**
 * MUTATE splits its line on spaces and needs exactly two parts, so spaces
 * inside strings (the only place `JSON.stringify` puts them) are escaped.
 */
export function mutate(payload: unknown): Uint8Array {
  return encoder.encode(`MUTATE ${json(payload).replaceAll(" ", "\\u0020")}\r\n`);
}

/** FETCH over validated queue names, in the order given (the server's strict order). */
export function fetch(queues: readonly string[]): Uint8Array {
  if (queues.length === 0) throw new ValidationError("FETCH needs at least one queue");
  for (const q of queues) validateQueue(q);
  return words("FETCH", queues);
}

/** `JSON.stringify`, with a value JSON cannot hold refused as `ValidationError`. */
export function json(payload: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (cause) {
    throw new ValidationError(`Payload cannot be sent as JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (text === undefined) throw new ValidationError("Payload cannot be sent as JSON");
  return text;
}

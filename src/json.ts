/**
 * What a job's `args` and `custom` may hold: values that come back from
 * JSON as they went in, so a handler gets what the producer pushed.
 *
 * Allowed:
 * - strings, finite numbers, booleans and `null`;
 * - arrays, and plain objects (made by `{}`, JSON or `Object.create(null)`);
 *   a property whose value is `undefined` is left out, as JSON leaves it out;
 * - any object with a `toJSON` method, whose result follows these rules in
 *   turn: a `Date` travels as its ISO string (the handler gets the string).
 *
 * Refused with a `ValidationError` naming the path (`args[0]`, `custom.a.b`):
 * `undefined` in an array, NaN and Infinity, BigInt, functions, symbols,
 * cycles, an invalid `Date`; `Map`, `Set`, `WeakMap`, `WeakSet`, `Error`,
 * `RegExp`, `Promise`, typed arrays, `ArrayBuffer` and `DataView` (JSON turns
 * them into `{}` or an object of indexes); any other class instance (its
 * class and prototype getters would be lost: give the class a `toJSON`, or
 * pass a plain object); a getter or `toJSON` that throws; and nesting deeper
 * than {@linkcode MAX_JSON_DEPTH} levels. Symbol-keyed and non-enumerable
 * properties are not sent, as in JSON.
 *
 * @module
 */

import { show, ValidationError } from "./errors.ts";

/** How deep `args` and `custom` may nest: arrays and objects, counting `args` itself as 1. */
export const MAX_JSON_DEPTH = 100;

/** Throws a {@linkcode ValidationError} naming the first value under `path` that JSON would change. */
export function checkJson(value: unknown, path: string): void {
  if (!flat(value)) check(value, path, "", 1, new Set());
}

/**
 * Whether `value` is an array or plain object of strings, booleans, finite
 * numbers and nulls (`undefined` too, in an object): the usual arguments,
 * passed without the walk below, which names every value's path. Anything
 * else, or anything that throws, takes the walk, which says what is wrong.
 */
function flat(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  try {
    const proto = Object.getPrototypeOf(value);
    if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
    if (proto === Array.prototype) {
      const array = value as unknown[];
      for (let i = 0; i < array.length; i++) if (!primitive(array[i])) return false;
      return true;
    }
    if (proto !== Object.prototype && proto !== null) return false;
    const object = value as Record<string, unknown>;
    for (const key in object) {
      const v = object[key];
      if (v !== undefined && !primitive(v)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function primitive(v: unknown): boolean {
  return typeof v === "string" || typeof v === "boolean" || v === null ||
    (typeof v === "number" && Number.isFinite(v));
}

/** `key` is what JSON.stringify passes to `toJSON`: the property name, or the index. */
function check(value: unknown, path: string, key: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw notJson(path, `${value} becomes null in JSON`);
      return;
    case "bigint":
      throw notJson(path, "BigInt has no JSON form; send it as a string");
    case "undefined":
      throw notJson(path, "undefined becomes null in JSON");
    case "function":
    case "symbol":
      throw notJson(path, `a ${typeof value} cannot be sent as JSON`);
  }
  if (value === null) return;
  const object = value as Record<string, unknown>;
  if (depth > MAX_JSON_DEPTH) throw notJson(path, `it nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (seen.has(object)) throw notJson(path, "it refers to itself (a cycle)");
  seen.add(object);
  const toJson = read(object, "toJSON", path);
  let own = true; // JSON sends the object's own properties, not a toJSON result
  if (typeof toJson === "function") {
    if (object instanceof Date && Number.isNaN(object.getTime())) {
      throw notJson(path, "an invalid Date becomes null in JSON");
    }
    let json: unknown;
    try {
      json = toJson.call(object, key);
    } catch (e) {
      throw notJson(path, `its toJSON method threw: ${message(e)}`);
    }
    if (json !== object) {
      check(json, path, key, depth, seen);
      own = false;
    }
  } else {
    const refused = lossy(object);
    if (refused !== undefined) throw notJson(path, refused);
  }
  if (own && Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const name = `${path}[${i}]`;
      check(read(object, i, name), name, String(i), depth + 1, seen);
    }
  } else if (own) {
    for (const k of Object.keys(object)) {
      const name = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${show(k)}]`;
      const v = read(object, k, name);
      if (v !== undefined) check(v, name, k, depth + 1, seen);
    }
  }
  seen.delete(object);
}

/** Why JSON would lose what this object is, or undefined for arrays and plain objects. */
function lossy(object: object): string | undefined {
  if (Array.isArray(object)) return undefined;
  const proto = Object.getPrototypeOf(object);
  if (proto === Object.prototype || proto === null) return undefined;
  const kind = show(object);
  if (object instanceof Map) {
    return `${kind} becomes {} in JSON: convert it, e.g. Object.fromEntries(map)`;
  }
  if (object instanceof Set) return `${kind} becomes {} in JSON: convert it, e.g. [...set]`;
  if (object instanceof Error) return `${kind} becomes {} in JSON: send its message instead`;
  if (object instanceof RegExp) return `${kind} becomes {} in JSON: send its source as a string`;
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
    return `${kind} does not keep its bytes in JSON: convert it, e.g. Array.from(bytes) or base64`;
  }
  return `${kind} cannot be sent as JSON faithfully: pass a plain object or array, or give its class a toJSON method`;
}

/** `object[key]`, with a throwing getter turned into a ValidationError. */
function read(object: object, key: string | number, path: string): unknown {
  try {
    return (object as Record<string | number, unknown>)[key];
  } catch (e) {
    throw notJson(path, `reading it threw: ${message(e)}`);
  }
}

function message(e: unknown): string {
  try {
    return String((e as Error)?.message ?? e);
  } catch {
    return "an error that cannot be shown";
  }
}

function notJson(path: string, why: string): ValidationError {
  return new ValidationError(`Invalid ${path}: ${why}`);
}

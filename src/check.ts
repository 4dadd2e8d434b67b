/**
 * How a table of rules (rules.ts) is applied to what a caller gives: each
 * option that has a rule, and any unknown key that looks like a misspelt one.
 *
 * @module
 */

import { show, ValidationError } from "./errors.ts";

/** How one value is checked. */
export interface Rule {
  /** `undefined` if the value is acceptable, else what to use instead. */
  readonly check: (value: unknown) => string | undefined;
  /** Rules for the keys of an object value, checked once `check` passed. */
  readonly keys?: Rules;
  /** Never show the value in a message (a password, a URL that may hold one). */
  readonly secret?: boolean;
}

/** The rules of an options object, by key. */
export type Rules = Readonly<Record<string, Rule>>;

/** An object of options: plain, or of a class of one's own; not an array, a Map, a Date... */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.prototype.toString.call(v) === "[object Object]";

/**
 * Checks `options` against `rules`: each key that has a rule, and any other
 * key that looks like a misspelt one. `what` names the object in a message
 * if it is not an object at all; `undefined` passes unless `required`.
 */
export function checkOptions(
  rules: Rules,
  options: unknown,
  what: string,
  { required = false, prefix = "" } = {},
): void {
  if (options === undefined && !required) return;
  if (!isRecord(options)) {
    throw new ValidationError(`Invalid ${what} ${show(options)}: pass an object`);
  }
  const own = Object.keys(options);
  for (const key of own) {
    if (Object.hasOwn(rules, key)) continue;
    const meant = misspelt(key, rules);
    if (meant !== undefined) {
      throw new ValidationError(`Unknown option "${prefix}${key}": use "${prefix}${meant}"`);
    }
  }
  // A plain object has only its own keys; a class instance may inherit options.
  const proto = Object.getPrototypeOf(options);
  for (const key of proto === Object.prototype || proto === null ? own : Object.keys(rules)) {
    if (!Object.hasOwn(rules, key)) continue;
    let value: unknown;
    try {
      value = options[key];
    } catch (e) {
      throw new ValidationError(`Invalid ${prefix}${key}: reading it threw`, { cause: e });
    }
    if (value !== undefined) checkValue(rules[key]!, value, prefix + key);
  }
}

/** Checks one value; a failure names it `name`. */
export function checkValue(rule: Rule, value: unknown, name: string): void {
  const hint = rule.check(value);
  if (hint !== undefined) {
    throw new ValidationError(`Invalid ${name}${rule.secret ? "" : ` ${show(value)}`}: ${hint}`);
  }
  if (rule.keys !== undefined && isRecord(value)) {
    checkOptions(rule.keys, value, name, { prefix: `${name}.` });
  }
}

/**
 * Unknown keys seen per table, with the option each looks like a slip of:
 * a job pushed with fields no rule names (`created_at`, as the load tester
 * sends) would otherwise pay for the edit distances on every push (~10 µs).
 * Bounded, since the keys come from callers.
 */
const slips = new WeakMap<Rules, Map<string, string | undefined>>();

/** The option of `rules` that `key` most likely means, if it looks like a slip of one. */
function misspelt(key: string, rules: Rules): string | undefined {
  let seen = slips.get(rules);
  if (seen === undefined) slips.set(rules, seen = new Map());
  if (seen.has(key)) return seen.get(key);
  const meant = closest(key, Object.keys(rules));
  if (seen.size < 1000) seen.set(key, meant);
  return meant;
}

/** The name in `known` that `key` is a slip of, if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  const plain = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const k = plain(key);
  let best: string | undefined;
  let bestDistance = k.length >= 8 ? 3 : k.length >= 4 ? 2 : 1;
  for (const name of known) {
    const d = distance(k, plain(name));
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Edit distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

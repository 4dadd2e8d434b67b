/**
 * The Faktory Enterprise job options (batch, tracking, unique and expiring
 * jobs): checked and turned into the `custom` fields the server reads.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { JobOptions } from "../job.ts";
import { validateWord } from "../protocol/command.ts";

/** The options this module reads. */
type EnterpriseOptions = Pick<
  JobOptions,
  "batchId" | "tracked" | "uniqueFor" | "uniqueUntil" | "expiresAt" | "expiresIn" | "custom"
>;

/**
 * The `custom` fields for the Enterprise options that are set, or `undefined`
 * when none is. Throws {@linkcode ValidationError} naming the option to fix.
 */
export function enterpriseCustom(
  options: EnterpriseOptions,
): Record<string, unknown> | undefined {
  const custom: Record<string, unknown> = {};
  const { batchId, tracked, uniqueFor, uniqueUntil, expiresAt, expiresIn } = options;
  if (batchId !== undefined) custom.bid = validateWord(batchId, "batchId");
  if (tracked !== undefined) {
    if (typeof tracked !== "boolean") {
      throw new ValidationError(`Invalid tracked ${show(tracked)}: use true or false`);
    }
    if (tracked) custom.track = 1;
  }
  if (uniqueFor !== undefined) {
    if (typeof uniqueFor !== "number" || !Number.isFinite(uniqueFor) || uniqueFor <= 0) {
      throw new ValidationError(
        `Invalid uniqueFor ${show(uniqueFor)}: use a positive number of seconds`,
      );
    }
    custom.unique_for = uniqueFor;
  }
  if (uniqueUntil !== undefined) {
    if (uniqueUntil !== "success" && uniqueUntil !== "start") {
      throw new ValidationError(
        `Invalid uniqueUntil ${show(uniqueUntil)}: use "success" or "start"`,
      );
    }
    if (uniqueFor === undefined && options.custom?.unique_for === undefined) {
      throw new ValidationError(
        `Invalid uniqueUntil "${uniqueUntil}" without uniqueFor: set uniqueFor too, uniqueness needs a time limit`,
      );
    }
    custom.unique_until = uniqueUntil;
  }
  if (expiresAt !== undefined && expiresIn !== undefined) {
    throw new ValidationError("Invalid expiresAt with expiresIn: give only one of them");
  }
  if (expiresAt !== undefined) {
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw new ValidationError(`Invalid expiresAt ${show(expiresAt)}: use a valid Date`);
    }
    custom.expires_at = expiresAt.toISOString();
  }
  if (expiresIn !== undefined) {
    if (!Number.isInteger(expiresIn) || expiresIn < 1) {
      throw new ValidationError(
        `Invalid expiresIn ${show(expiresIn)}: use whole seconds, 1 or more`,
      );
    }
    custom.expires_in = expiresIn;
  }
  return Object.keys(custom).length === 0 ? undefined : custom;
}

/** A value as it should appear in an error message: strings quoted. */
function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

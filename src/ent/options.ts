/**
 * The Faktory Enterprise job options (batch, tracking, unique and expiring
 * jobs), turned into the `custom` fields the server reads.
 *
 * @module
 */

import { ValidationError } from "../errors.ts";
import type { JobOptions } from "../job.ts";

/** The options this module reads. */
type EnterpriseOptions = Pick<
  JobOptions,
  "batchId" | "tracked" | "uniqueFor" | "uniqueUntil" | "expiresAt" | "expiresIn" | "custom"
>;

/**
 * The `custom` fields for the Enterprise options that are set, or `undefined`
 * when none is. Each option was checked against its rule (src/rules.ts);
 * this refuses the combinations that make no sense.
 */
export function enterpriseCustom(
  options: EnterpriseOptions,
): Record<string, unknown> | undefined {
  const { batchId, tracked, uniqueFor, uniqueUntil, expiresAt, expiresIn } = options;
  // Most pushes set none of them: no object to build and count (once per push).
  if (
    batchId === undefined && !tracked && uniqueFor === undefined && uniqueUntil === undefined &&
    expiresAt === undefined && expiresIn === undefined
  ) return undefined;
  const custom: Record<string, unknown> = {};
  if (batchId !== undefined) custom.bid = batchId;
  if (tracked) custom.track = 1;
  if (uniqueFor !== undefined) custom.unique_for = uniqueFor;
  if (uniqueUntil !== undefined) {
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
  if (expiresAt !== undefined) custom.expires_at = expiresAt.toISOString();
  if (expiresIn !== undefined) custom.expires_in = expiresIn;
  return Object.keys(custom).length === 0 ? undefined : custom;
}

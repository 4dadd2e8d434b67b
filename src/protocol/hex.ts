/**
 * Lower-case hex of bytes: job ids and password hashes.
 *
 * @module
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Two lower-case hex digits per byte (of `bytes[from..to)`, all by default). */
export function toHex(bytes: Uint8Array, from = 0, to = bytes.length): string {
  let hex = "";
  for (let i = from; i < to; i++) hex += HEX[bytes[i]!];
  return hex;
}

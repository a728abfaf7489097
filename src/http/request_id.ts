/**
 * Request ids: validation of an incoming `x-request-id` and cheap generation
 * of new ones.
 *
 * @module
 */

/** Longest accepted incoming request id, in characters. */
export const MAX_REQUEST_ID_LENGTH = 200;

/**
 * Reports whether an incoming `x-request-id` value may be kept: 1 to 200
 * characters, each printable ASCII from `!` (0x21) to `~` (0x7e). Spaces,
 * control characters and non-ASCII are refused so an id is always one token
 * in a log line and cannot inject fields or line breaks; a refused id is
 * replaced by a generated one.
 *
 * @example Usage
 * ```ts
 * import { isValidRequestId } from "./request_id.ts";
 * isValidRequestId("4bf92f35-77b3"); // true
 * isValidRequestId("a b"); // false
 * ```
 */
export function isValidRequestId(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Random per-process prefix, so ids from restarts and replicas differ. */
const PREFIX = makePrefix();
let counter = 0;

function makePrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let s = "";
  for (const b of bytes) s += (b % 36).toString(36);
  return s + "-";
}

/**
 * Generates a request id unique within the process: a random per-process
 * prefix and a counter in base 36, e.g. `k3x9q0ab-1z`. It costs no random
 * numbers per request. Ids are identifiers for correlating logs, not secrets:
 * they are predictable.
 *
 * @example Usage
 * ```ts
 * import { newRequestId } from "./request_id.ts";
 * const id = newRequestId(); // e.g. "k3x9q0ab-1"
 * ```
 */
export function newRequestId(): string {
  return PREFIX + (++counter).toString(36);
}

/**
 * WebSocket close codes (RFC 6455 section 7.4): which codes a peer may send
 * in a Close frame, which an application may send, and the codes Palisade
 * uses itself.
 *
 * @module
 */

/** Close codes Palisade sends, by meaning. */
export const CloseCode = {
  /** 1000: the purpose of the connection was fulfilled. */
  normal: 1000,
  /** 1001: the server is shutting down (or the peer stopped answering). */
  goingAway: 1001,
  /** 1002: the peer broke the protocol. */
  protocolError: 1002,
  /** 1005: reported when a Close frame carried no code; never sent. */
  noStatus: 1005,
  /** 1006: reported when the connection ended without a Close frame; never sent. */
  abnormal: 1006,
  /** 1007: a text message (or close reason) was not valid UTF-8. */
  invalidData: 1007,
  /** 1008: policy violation (Palisade: the peer reads too slowly). */
  policy: 1008,
  /** 1009: a frame or message was larger than the configured limit. */
  tooBig: 1009,
  /** 1011: the server met an unexpected condition. */
  internalError: 1011,
} as const;

/**
 * Whether `code` may appear in a Close frame received from a peer: 1000–1003,
 * 1007–1014 (registered by RFC 6455 and IANA) and 3000–4999 (libraries and
 * applications). 1004, 1005, 1006 and 1015 are reserved or report-only;
 * everything below 1000, 1016–2999 and from 5000 is unassigned.
 *
 * @example Usage
 * ```ts
 * import { isValidWireCode } from "./close.ts";
 * isValidWireCode(1000); // true
 * isValidWireCode(1005); // false
 * ```
 */
export function isValidWireCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** Longest close reason in UTF-8 bytes: 125 payload bytes minus the 2-byte code. */
export const MAX_REASON_BYTES = 123;

/**
 * Streaming UTF-8 validation for text messages that arrive in pieces
 * (fragments, or one frame split across reads): each piece is checked as it
 * arrives, so an invalid byte fails the message at once (close 1007)
 * instead of after the whole message has been buffered.
 *
 * It is built on a fatal, streaming `TextDecoder`, which rejects a sequence
 * at the first byte that cannot continue it (the WHATWG decoder's rule: an
 * overlong lead, a surrogate, a code point above U+10FFFF or a stray
 * continuation byte fail on that very byte), and which yields the decoded
 * text at the same time, so validated bytes never need a second pass.
 *
 * @module
 */

/**
 * Validates and decodes one UTF-8 text message given in pieces.
 *
 * @example Usage
 * ```ts
 * import { Utf8Stream } from "./utf8_validator.ts";
 * const s = new Utf8Stream();
 * const a = s.push(new Uint8Array([0x68, 0xc3])); // "h" (0xc3 is held)
 * const b = s.push(new Uint8Array([0xa9])); // "é"
 * s.end(); // "" : complete
 * new Utf8Stream().push(new Uint8Array([0xc0])); // null: never valid
 * ```
 */
export class Utf8Stream {
  #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  /**
   * Checks the next piece: the text it completes, or null as soon as the
   * bytes so far cannot start valid UTF-8. An incomplete sequence at the
   * end of `bytes` is held for the next piece.
   */
  push(bytes: Uint8Array): string | null {
    try {
      return this.#decoder.decode(bytes, { stream: true });
    } catch {
      this.#decoder = new TextDecoder("utf-8", {
        fatal: true,
        ignoreBOM: true,
      });
      return null;
    }
  }

  /**
   * Ends the message: the last text (usually `""`), or null when it ended
   * inside a sequence. The stream is then ready for the next message.
   */
  end(): string | null {
    try {
      return this.#decoder.decode();
    } catch {
      this.#decoder = new TextDecoder("utf-8", {
        fatal: true,
        ignoreBOM: true,
      });
      return null;
    }
  }
}

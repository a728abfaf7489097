/**
 * Request cookies and the response's `Set-Cookie` lines (RFC 6265bis), with
 * optional HMAC signing. The App exposes one {@linkcode Cookies} per request
 * as `ctx.cookies`.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { positiveInt } from "../internal/validate.ts";
import {
  badValueAt,
  checkAttribute,
  decodeValue,
  DEFAULT_MAX_COOKIE_BYTES,
  DEFAULT_MAX_COOKIES,
  encoder,
  hasPrefix,
  isSpace,
  isToken,
  MAX_NAME_VALUE_BYTES,
  NO_LINES,
  SAME_SITE,
  type SameSite,
  sign,
  SIGNATURE_LENGTH,
} from "./cookie_syntax.ts";

/** Options of {@linkcode Cookies}: how the request `Cookie` header is read. */
export interface CookiesOptions {
  /**
   * Most distinct cookies read from the request `Cookie` header. Default
   * 100. Cookies after the limit are ignored, never an error. Must be a
   * positive integer.
   */
  maxCookies?: number;
  /**
   * Longest cookie (name, `=` and value) read, in bytes. Default 4096, the
   * size browsers keep. Longer cookies are ignored, never an error. Must be
   * a positive integer.
   */
  maxCookieBytes?: number;
  /**
   * Percent-decode values on read (`%20` → space); a value that is not valid
   * percent-encoding is returned as sent. Default false: values are returned
   * as sent, as Go's `net/http` does (only a pair of surrounding double
   * quotes is removed).
   */
  decode?: boolean;
}

/** Options of {@linkcode Cookies.prototype.get}. */
export interface CookieGetOptions {
  /**
   * Read a cookie written with `set(..., { signed: true })`: the value is
   * returned only when its signature verifies with one of the keys, else
   * the cookie reads as absent. Default false (the value as sent).
   */
  signed?: boolean;
}

export type { SameSite } from "./cookie_syntax.ts";

/** Options of {@linkcode Cookies.prototype.set}. */
export interface CookieSetOptions {
  /**
   * Lifetime in whole seconds (`Max-Age`). 0 or negative expires the cookie
   * now. Default: none (a session cookie, unless `expires` is set). Browsers
   * cap lifetimes at 400 days.
   */
  maxAge?: number;
  /** Expiry date (`Expires`). Default: none. `maxAge` wins when both are set. */
  expires?: Date;
  /** `Path`; must start with `/`. Default `"/"` (the whole site). */
  path?: string;
  /** `Domain`. Default: none (the cookie goes back to this host only). */
  domain?: string;
  /**
   * `Secure`: sent over HTTPS only. Default false. Required by the
   * `__Secure-` and `__Host-` prefixes, `sameSite: "none"` and `partitioned`.
   */
  secure?: boolean;
  /** `HttpOnly`: hidden from page scripts. Default true. */
  httpOnly?: boolean;
  /** `SameSite`. Default `"lax"` (what browsers assume when it is absent). */
  sameSite?: SameSite;
  /** `Partitioned` (CHIPS); requires `secure`. Default false. */
  partitioned?: boolean;
  /**
   * Sign the value with the first of the App's `keys`: it is sent as
   * `value.signature` (see {@linkcode Cookies}). Default false.
   */
  signed?: boolean;
}

/** Options of {@linkcode Cookies.prototype.delete}: the cookie to expire. */
export interface CookieDeleteOptions {
  /** The `Path` the cookie was set with. Default `"/"`. */
  path?: string;
  /** The `Domain` the cookie was set with. Default: none. */
  domain?: string;
  /** Set for a cookie set with `partitioned` (implies `Secure`). */
  partitioned?: boolean;
}

/**
 * The cookies of one request, and the cookies the response sets.
 *
 * Reading: the `Cookie` header is parsed on the first `get` or `all`, in one
 * left-to-right pass, keeping at most `maxCookies` cookies of at most
 * `maxCookieBytes` each (others are ignored). When a name repeats (a browser
 * sends cookies of several paths or domains under one name, most specific
 * path first), the first one wins, as in most servers. Whitespace around
 * names and values is trimmed, a pair of surrounding double quotes removed,
 * and pairs without `=` skipped. Values are not percent-decoded unless the
 * `decode` option is set. Names like `__proto__` are ordinary keys of a
 * null-prototype record.
 *
 * Writing: `set` and `delete` validate the cookie at once and throw
 * `TypeError` naming it: the name must be an RFC 9110 token; the value only
 * cookie-octets (no controls, whitespace, `"`, `,`, `;` or `\`; encode
 * others, e.g. with `encodeURIComponent`), optionally wrapped in double
 * quotes; name and value together at most 4096 bytes; `Path` and `Domain`
 * printable ASCII without `;`, at most 1024 bytes, `Path` starting with
 * `/`. A name starting with `__Secure-` needs `secure`; `__Host-` needs
 * `secure`, path `/` and no domain (both prefixes matched case-insensitively,
 * as browsers do); `sameSite: "none"` and `partitioned` need `secure`. The
 * last `set` or `delete` of a name, path and domain wins.
 *
 * Signing: with `signed: true` the value is sent as `value.signature`, where
 * the signature is the unpadded base64url HMAC-SHA-256 of `name=value` under
 * the first key (binding the value to the cookie name). A signed read
 * verifies against every key in constant time, so a key can be rotated by
 * putting the new one first; a tampered, unsigned or unknown-key value reads
 * as absent. A signed value is readable by the client: sign, don't hide.
 *
 * @example Usage
 * ```ts
 * import { Cookies } from "./cookies.ts";
 * const cookies = new Cookies("theme=dark; sid=abc", ["secret-key"]);
 * cookies.get("theme"); // "dark"
 * cookies.set("sid", "s-123", { signed: true, secure: true, maxAge: 3600 });
 * // The response gets:
 * // Set-Cookie: sid=s-123.<signature>; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax
 * ```
 */
export class Cookies {
  #header: string | null;
  #keys: readonly string[] | undefined;
  #maxCookies: number;
  #maxBytes: number;
  #decode: boolean;
  #jar: Record<string, string> | undefined;
  #all: Readonly<Record<string, string>> | undefined;
  #out: Map<string, string> | undefined;

  /**
   * Wraps the request's `Cookie` header.
   *
   * @param header The request `Cookie` header value, or null.
   * @param keys The App's signing keys (first signs, all verify).
   * @param options Parsing limits and decoding.
   * @throws {TypeError} for an invalid option.
   */
  constructor(
    header: string | null,
    keys: readonly string[] | undefined,
    options?: CookiesOptions,
  ) {
    this.#header = header;
    this.#keys = keys;
    this.#maxCookies = positiveInt(
      "maxCookies",
      options?.maxCookies ?? DEFAULT_MAX_COOKIES,
    );
    this.#maxBytes = positiveInt(
      "maxCookieBytes",
      options?.maxCookieBytes ?? DEFAULT_MAX_COOKIE_BYTES,
    );
    this.#decode = options?.decode === true;
  }

  /**
   * The value of the request cookie `name`, or undefined when absent (or,
   * with `signed`, when its signature does not verify).
   *
   * @throws {TypeError} for `signed` without keys.
   *
   * @example Usage
   * ```ts
   * import { Cookies } from "./cookies.ts";
   * new Cookies("a=1; a=2", undefined).get("a"); // "1"
   * ```
   */
  get(name: string, options?: CookieGetOptions): string | undefined {
    const raw = this.#parse()[name];
    if (options?.signed === true) {
      const keys = this.#signingKeys();
      return raw === undefined ? undefined : this.#verify(keys, name, raw);
    }
    if (raw === undefined) return undefined;
    return this.#decode ? decodeValue(raw) : raw;
  }

  /**
   * Every request cookie as a null-prototype record (first value of a
   * repeated name; signed values as sent, with their signature).
   *
   * @example Usage
   * ```ts
   * import { Cookies } from "./cookies.ts";
   * new Cookies("a=1; b=2", undefined).all(); // { a: "1", b: "2" }
   * ```
   */
  all(): Readonly<Record<string, string>> {
    if (this.#all === undefined) {
      const jar = this.#parse();
      const out: Record<string, string> = Object.create(null);
      for (const name in jar) {
        out[name] = this.#decode ? decodeValue(jar[name]) : jar[name];
      }
      this.#all = Object.freeze(out);
    }
    return this.#all;
  }

  /**
   * Sets a cookie on the response. See {@linkcode Cookies} for the rules.
   *
   * @throws {TypeError} naming the cookie when the name, value or an
   * attribute is invalid, or for `signed` without keys.
   *
   * @example Usage
   * ```ts
   * import { Cookies } from "./cookies.ts";
   * const cookies = new Cookies(null, undefined);
   * cookies.set("__Host-theme", "dark", { secure: true, maxAge: 86400 });
   * ```
   */
  set(name: string, value: string, options?: CookieSetOptions): void {
    if (!isToken(name)) {
      throw new TypeError(`Cookie name "${name}" is not a token`);
    }
    const bad = badValueAt(value);
    if (bad !== -1) {
      throw new TypeError(
        `Cookie "${name}" value has a character not allowed in cookies at index ${bad}; encode it, e.g. with encodeURIComponent`,
      );
    }
    if (options?.signed === true) {
      value += "." + sign(this.#signingKeys()[0], name, value);
    }
    if (name.length + value.length > MAX_NAME_VALUE_BYTES) {
      throw new TypeError(
        `Cookie "${name}" name and value are over ${MAX_NAME_VALUE_BYTES} bytes`,
      );
    }
    const path = options?.path ?? "/";
    checkAttribute(name, "path", path);
    if (path[0] !== "/") {
      throw new TypeError(`Cookie "${name}" path must start with "/"`);
    }
    let line = `${name}=${value}; Path=${path}`;
    const domain = options?.domain;
    if (domain !== undefined) {
      checkAttribute(name, "domain", domain);
      if (domain.length === 0) {
        throw new TypeError(`Cookie "${name}" domain must not be empty`);
      }
      line += `; Domain=${domain}`;
    }
    const secure = options?.secure === true;
    if (hasPrefix(name, "__Host-")) {
      if (!secure || path !== "/" || domain !== undefined) {
        throw new TypeError(
          `Cookie "${name}" has the __Host- prefix: it needs secure, path "/" and no domain`,
        );
      }
    } else if (!secure && hasPrefix(name, "__Secure-")) {
      throw new TypeError(
        `Cookie "${name}" has the __Secure- prefix: it needs secure`,
      );
    }
    const maxAge = options?.maxAge;
    if (maxAge !== undefined) {
      if (!Number.isSafeInteger(maxAge)) {
        throw new TypeError(
          `Cookie "${name}" maxAge must be an integer number of seconds, got ${maxAge}`,
        );
      }
      line += `; Max-Age=${maxAge > 0 ? maxAge : 0}`;
    }
    const expires = options?.expires;
    if (expires !== undefined) {
      if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) {
        throw new TypeError(`Cookie "${name}" expires must be a valid Date`);
      }
      line += `; Expires=${expires.toUTCString()}`;
    }
    if (secure) line += "; Secure";
    if (options?.httpOnly !== false) line += "; HttpOnly";
    const sameSite = options?.sameSite ?? "lax";
    if (!Object.hasOwn(SAME_SITE, sameSite)) {
      throw new TypeError(
        `Cookie "${name}" sameSite must be "strict", "lax" or "none", got ${
          String(sameSite)
        }`,
      );
    }
    if (sameSite === "none" && !secure) {
      throw new TypeError(`Cookie "${name}" with sameSite "none" needs secure`);
    }
    line += `; SameSite=${SAME_SITE[sameSite]}`;
    if (options?.partitioned === true) {
      if (!secure) {
        throw new TypeError(`Cookie "${name}" with partitioned needs secure`);
      }
      line += "; Partitioned";
    }
    // ";" cannot occur in a name, path or domain: the key is unambiguous.
    const key = `${name};${path};${
      domain?.replace(/^\./, "").toLowerCase() ?? ""
    }`;
    (this.#out ??= new Map()).set(key, line);
  }

  /**
   * Expires a cookie on the client (an empty value with `Max-Age=0`). Pass
   * the path and domain it was set with; a `__Secure-`/`__Host-` or
   * partitioned cookie is deleted with `Secure`, as browsers require.
   *
   * @throws {TypeError} naming the cookie when the name or an attribute is
   * invalid.
   *
   * @example Usage
   * ```ts
   * import { Cookies } from "./cookies.ts";
   * new Cookies("sid=abc", undefined).delete("sid");
   * ```
   */
  delete(name: string, options?: CookieDeleteOptions): void {
    const partitioned = options?.partitioned === true;
    this.set(name, "", {
      path: options?.path,
      domain: options?.domain,
      maxAge: 0,
      secure: partitioned || hasPrefix(name, "__Secure-") ||
        hasPrefix(name, "__Host-"),
      partitioned,
    });
  }

  /**
   * @internal The `Set-Cookie` field values for the response, one per
   * cookie, in the order first set; the App appends each.
   */
  setCookieLines(): readonly string[] {
    return this.#out === undefined ? NO_LINES : [...this.#out.values()];
  }

  #signingKeys(): readonly string[] {
    const keys = this.#keys;
    if (keys === undefined || keys.length === 0) {
      throw new TypeError("Signed cookies need App option keys");
    }
    return keys;
  }

  #verify(
    keys: readonly string[],
    name: string,
    raw: string,
  ): string | undefined {
    const dot = raw.lastIndexOf(".");
    if (dot === -1 || raw.length - dot - 1 !== SIGNATURE_LENGTH) {
      return undefined;
    }
    const value = raw.slice(0, dot);
    const given = encoder.encode(raw.slice(dot + 1));
    let ok = false;
    for (const key of keys) {
      // Every key is tried, so the time does not tell which one matched.
      const expected = encoder.encode(sign(key, name, value));
      if (
        expected.length === given.length && timingSafeEqual(expected, given)
      ) {
        ok = true;
      }
    }
    if (!ok) return undefined;
    return this.#decode ? decodeValue(value) : value;
  }

  #parse(): Record<string, string> {
    if (this.#jar !== undefined) return this.#jar;
    const jar: Record<string, string> = Object.create(null);
    this.#jar = jar;
    const s = this.#header;
    if (s === null) return jar;
    const n = s.length;
    const max = this.#maxCookies;
    const maxBytes = this.#maxBytes;
    let count = 0;
    let eq = -1; // the next "=" at or after i; n when there is none
    let i = 0;
    while (i < n && count < max) {
      let end = s.indexOf(";", i);
      if (end === -1) end = n;
      if (eq < i) {
        eq = s.indexOf("=", i);
        if (eq === -1) eq = n;
      }
      if (eq < end) {
        let a = i;
        while (a < eq && isSpace(s.charCodeAt(a))) a++;
        let b = eq;
        while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
        let c = eq + 1;
        while (c < end && isSpace(s.charCodeAt(c))) c++;
        let d = end;
        while (d > c && isSpace(s.charCodeAt(d - 1))) d--;
        if (b > a && d - a <= maxBytes) {
          const name = s.slice(a, b);
          if (jar[name] === undefined) {
            if (d - c >= 2 && s[c] === '"' && s[d - 1] === '"') {
              c++;
              d--;
            }
            jar[name] = s.slice(c, d);
            count++;
          }
        }
      }
      i = end + 1;
    }
    return jar;
  }
}

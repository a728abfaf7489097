/**
 * Serialisers of the two structured policies `secureHeaders()` sends:
 * Content-Security-Policy and Permissions-Policy. Run once per factory.
 *
 * @module
 */

import { isSerializedOrigin } from "./_origin.ts";

/**
 * CSP directives by name (`"script-src"`, or camelCase `scriptSrc`), each a
 * list of source expressions (`"'self'"`, `"https://cdn.example"`); `true` or
 * `[]` for directives without a value (`upgrade-insecure-requests`).
 * Keywords must be quoted as in the header: `"'self'"`, not `"self"`.
 */
export type CspDirectives = Readonly<Record<string, readonly string[] | true>>;

/**
 * Permissions-Policy features by name, each an allowlist: `[]` disables the
 * feature (`camera=()`), `["self"]`, `["*"]`, or origins
 * (`["self", "https://maps.example"]`).
 */
export type PermissionsPolicy = Readonly<Record<string, readonly string[]>>;

/** Stands where each per-request nonce goes in a serialised policy. */
export const NONCE_MARK = "\0";

/** CSP keywords, which must be written quoted. */
const CSP_KEYWORDS = new Set([
  "self",
  "none",
  "unsafe-inline",
  "unsafe-eval",
  "unsafe-hashes",
  "strict-dynamic",
  "report-sample",
  "wasm-unsafe-eval",
  "unsafe-allow-redirects",
  "inline-speculation-rules",
]);

/** The default Permissions-Policy: powerful features most apps do not use, off. */
const DEFAULT_PERMISSIONS: PermissionsPolicy = {
  camera: [],
  geolocation: [],
  microphone: [],
  payment: [],
  usb: [],
};

/** Serialises a Permissions-Policy; null when it has no feature. */
export function permissionsPolicy(
  value: boolean | PermissionsPolicy | undefined,
): string | null {
  if (value === false) return null;
  const policy = value === undefined || value === true
    ? DEFAULT_PERMISSIONS
    : value;
  if (typeof policy !== "object" || policy === null || Array.isArray(policy)) {
    throw new TypeError(
      `Option permissionsPolicy must be an object of feature allowlists, got ${
        String(value)
      }`,
    );
  }
  const out: string[] = [];
  for (const feature of Object.keys(policy)) {
    const list = policy[feature];
    if (!/^[a-z][a-z0-9-]*$/.test(feature) || !Array.isArray(list)) {
      throw new TypeError(
        `Option permissionsPolicy must map feature names to arrays, got ${
          JSON.stringify(feature)
        }`,
      );
    }
    if (list.length === 1 && list[0] === "*") {
      out.push(`${feature}=*`);
      continue;
    }
    const items = list.map((item: unknown) => {
      if (item === "self" || item === "src") return item;
      if (typeof item === "string" && isSerializedOrigin(item)) {
        return `"${item}"`;
      }
      throw new TypeError(
        `Option permissionsPolicy.${feature} must list "self", "src", "*" or origins, got ${
          JSON.stringify(item)
        }`,
      );
    });
    out.push(`${feature}=(${items.join(" ")})`);
  }
  return out.length === 0 ? null : out.join(", ");
}

/**
 * Serialises the policy, with {@linkcode NONCE_MARK} where each nonce goes;
 * null when there is nothing to send.
 */
export function buildCsp(
  directives: CspDirectives | undefined,
  frameAncestors: string | null,
  withNonce: string[],
): string | null {
  if (
    directives !== undefined &&
    (typeof directives !== "object" || directives === null ||
      Array.isArray(directives))
  ) {
    throw new TypeError(
      `Option contentSecurityPolicy must be an object of directives, got ${
        String(directives)
      }`,
    );
  }
  const map = new Map<string, string[]>();
  for (const key of Object.keys(directives ?? {})) {
    const name = key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    if (!/^[a-z][a-z-]*$/.test(name)) {
      throw new TypeError(
        `Option contentSecurityPolicy has an invalid directive name ${
          JSON.stringify(key)
        }`,
      );
    }
    const value = directives![key];
    if (value !== true && !Array.isArray(value)) {
      throw new TypeError(
        `Option contentSecurityPolicy.${name} must be an array of sources or true, got ${
          String(value)
        }`,
      );
    }
    const sources = value === true
      ? []
      : value.map((s: unknown) => source(name, s));
    map.set(name, sources);
  }
  if (frameAncestors !== null && !map.has("frame-ancestors")) {
    map.set("frame-ancestors", [frameAncestors]);
  }
  for (const name of withNonce) {
    let sources = map.get(name);
    if (sources === undefined) {
      sources = (map.get("default-src") ?? []).filter((s) => s !== "'none'");
      map.set(name, sources);
    }
    sources.push(`'nonce-${NONCE_MARK}'`);
  }
  if (map.size === 0) return null;
  return [...map].map(([n, s]) => (s.length ? `${n} ${s.join(" ")}` : n)).join(
    "; ",
  );
}

function source(directive: string, s: unknown): string {
  if (
    typeof s !== "string" || s === "" || /[;,]/.test(s) ||
    /[^\x21-\x7e]/.test(s)
  ) {
    throw new TypeError(
      `Option contentSecurityPolicy.${directive} has an invalid source ${
        JSON.stringify(s)
      }`,
    );
  }
  if (CSP_KEYWORDS.has(s) || /^(nonce|sha256|sha384|sha512)-/.test(s)) {
    throw new TypeError(
      `Option contentSecurityPolicy.${directive} has the keyword ${s} unquoted; write "'${s}'"`,
    );
  }
  return s;
}

/**
 * `ipRestriction()`: allow and deny lists of IPv4/IPv6 addresses and CIDR
 * ranges, checked against the client address.
 *
 * @module
 */

import type { Middleware } from "../context/context.ts";
import { HttpError } from "../http/errors.ts";
import { inAnyRange, type IpRange, parseIp, parseRange } from "../net/ip.ts";

/** Options of {@linkcode ipRestriction}; at least one list must be non-empty. */
export interface IpRestrictionOptions {
  /**
   * Addresses and ranges allowed (`"10.0.0.0/8"`, `"2001:db8::/32"`,
   * `"127.0.0.1"`). When non-empty, every other address is refused.
   *
   * @default {[]} (every address not denied is allowed)
   */
  allow?: readonly string[];
  /**
   * Addresses and ranges refused; deny wins over allow.
   *
   * @default {[]}
   */
  deny?: readonly string[];
}

/**
 * Creates a middleware that answers 403 problem+json to clients outside
 * `allow` or inside `deny`. The client is `ctx.remote.hostname`: the socket
 * peer, or the client a trusted proxy reports (App option `trustProxy`).
 * An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is the IPv4 address for
 * both lists; an IPv6 zone (`fe80::1%eth0`) is ignored. A client address
 * that cannot be parsed (unknown, or a Unix socket) is refused: the lists
 * cannot vouch for it.
 *
 * @throws {TypeError} at factory time when an entry is not an address or
 * CIDR range, or both lists are empty.
 *
 * @example Usage
 * ```ts
 * import { App } from "@palisade/server";
 * import { ipRestriction } from "@palisade/server/middleware";
 * const app = new App({ trustProxy: { proxies: ["10.0.0.1"] } });
 * app.use("/admin", ipRestriction({
 *   allow: ["10.0.0.0/8", "192.168.0.0/16", "::1", "127.0.0.1"],
 *   deny: ["10.66.0.0/16"],
 * }));
 * ```
 */
export function ipRestriction(options: IpRestrictionOptions): Middleware {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Options of ipRestriction must be an object, got ${String(options)}`,
    );
  }
  const allow = ranges("allow", options.allow);
  const deny = ranges("deny", options.deny);
  if (allow.length === 0 && deny.length === 0) {
    throw new TypeError(
      "Options of ipRestriction need a non-empty allow or deny list",
    );
  }
  return function ipRestrictionMiddleware(ctx, next) {
    const host = ctx.remote.hostname;
    const zone = host.indexOf("%");
    const ip = parseIp(zone === -1 ? host : host.slice(0, zone));
    if (ip === null) {
      throw new HttpError(403, "Client address is unknown");
    }
    if (
      (deny.length > 0 && inAnyRange(deny, ip)) ||
      (allow.length > 0 && !inAnyRange(allow, ip))
    ) {
      throw new HttpError(403, "Client address is not allowed");
    }
    return next();
  };
}

function ranges(name: string, list: readonly string[] | undefined): IpRange[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Option ${name} must be an array of addresses or CIDR ranges, got ${
        String(list)
      }`,
    );
  }
  return list.map((entry: unknown) => {
    const r = typeof entry === "string" ? parseRange(entry) : null;
    if (r === null) {
      throw new TypeError(
        `Option ${name} must list IP addresses or CIDR ranges, got ${
          JSON.stringify(entry)
        }`,
      );
    }
    return r;
  });
}

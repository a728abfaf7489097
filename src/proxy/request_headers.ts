/**
 * The header fields of an upstream request: the client's, minus hop-by-hop
 * fields (and those its `Connection` names), minus the fields the proxy
 * sets itself, plus the forwarding fields. Built as a list of pairs in one
 * pass: `fetch` copies its `headers` anyway, and a list costs it about half
 * of what a `Headers` object does (measured).
 *
 * @module
 */

import type { Context } from "../context/context.ts";
import {
  requestFieldList,
  requestHeaders as headersOf,
} from "../context/internal.ts";
import { HOP_BY_HOP_FIELDS } from "../http/hop_by_hop.ts";
import { FORWARDING_FIELDS, forwardingFields } from "./forwarded.ts";
import type { ForwardedMode } from "./options.ts";

/** Fields never copied: hop-by-hop, and those fetch or the proxy set. */
const SKIPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_FIELDS,
  // The proxy answered any 100-continue itself.
  "expect",
  // fetch frames the body it is given.
  "content-length",
  // Deno's fetch decodes gzip and br bodies whenever Accept-Encoding is
  // anything but "identity", yet keeps Content-Encoding and Content-Length:
  // relayed, that body would be corrupt. Upstreams are asked for identity.
  "accept-encoding",
]);

/**
 * The upstream request's header fields for `ctx`, `Host` aside (the
 * caller sends the client's or the upstream's).
 */
export function requestHeaders(
  ctx: Context,
  forwarded: ForwardedMode,
): [string, string][] {
  const connection = ctx.header("connection");
  const named = connection === null ? null : connectionTokens(connection);
  const out: [string, string][] = [["accept-encoding", "identity"]];
  const list = requestFieldList(ctx);
  if (list !== null) {
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i];
      if (!skipped(name, named, forwarded)) out.push([name, list[i + 1]]);
    }
  } else {
    for (const pair of headersOf(ctx)) {
      if (!skipped(pair[0], named, forwarded)) out.push(pair);
    }
  }
  if (forwarded !== false) forwardingFields(ctx, forwarded, out);
  return out;
}

/** Whether the field `name` is not copied. */
function skipped(
  name: string,
  named: Set<string> | null,
  forwarded: ForwardedMode,
): boolean {
  return SKIPPED.has(name) || name === "host" ||
    (named !== null && named.has(name)) ||
    (forwarded !== false && FORWARDING_FIELDS.has(name));
}

/** Lower-case field names listed in a `Connection` value. */
function connectionTokens(value: string): Set<string> {
  const names = new Set<string>();
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "") names.add(name);
  }
  return names;
}

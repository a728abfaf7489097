/**
 * `App.fetch` before routing: a `Request` from `Deno.serve`, `deno serve`,
 * Deno Deploy or a test is held to the URL, header and Host rules the h1
 * engine applies while parsing, then its path and query are sliced out of
 * its URL for the lifecycle.
 *
 * @module
 */

import { checkRequestLimits } from "../http/header_limits.ts";
import { isValidHost } from "../http/host.ts";
import type { Limits } from "../http/limits.ts";
import type { ServeInfo } from "../transport/contract.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { Table } from "./route_table.ts";

/** Checks `req` and runs it through `lifecycle` on `table`. */
export function fetchRequest(
  lifecycle: Lifecycle,
  table: Table,
  limits: Readonly<Limits>,
  req: Request,
  info: ServeInfo | undefined,
): Response | Promise<Response> {
  const url = req.url;
  let start = url.indexOf("//");
  start = start === -1 ? 0 : url.indexOf("/", start + 2);
  if (start === -1) start = url.length;
  const method = req.method;
  const refused = checkRequestLimits(url.length - start, req.headers, limits);
  if (refused !== null) {
    return lifecycle.early(refused.reason, refused.status, refused.detail, {
      req,
      src: null,
      info,
      method,
      path: refused.reason === "url_too_long" ? "" : url.slice(start),
    });
  }
  // Deno builds req.url from the Host header as sent: a Host holding "/",
  // "?" or "#" would move the path the App routes (Host: x/admin?).
  const host = req.headers.get("host");
  if (host !== null && !isValidHost(host, false)) {
    return lifecycle.early("bad_host", 400, "Invalid Host header", {
      req,
      src: null,
      info,
      method,
      path: "",
    });
  }
  const q = url.indexOf("?", start);
  return lifecycle.run(
    table,
    req,
    null,
    info,
    method,
    q === -1 ? url.slice(start) : url.slice(start, q),
    q === -1 ? "" : url.slice(q + 1),
  );
}

/**
 * The load harness's scenarios and presets: what `bench/load.ts` sends, to
 * which servers, and which runs the performance issue's closing note quotes.
 *
 * @module
 */

import { jsonPayload, postLua } from "./_load_tools.ts";
import { HTTP1_SERVERS, ISSUE_SERVERS, SERVERS } from "./_servers.ts";

/** A load scenario. */
export interface Scenario {
  name: string;
  /** One-line description for the report. */
  title: string;
  tool: "wrk" | "h2load";
  path: string;
  tls?: boolean;
  headers?: string[];
  /** wrk Lua script text. */
  lua?: string;
  /** Which servers run it (by spec name) outside a preset's own list. */
  servers: string[];
  /**
   * The row CPU ratios divide by; default `"raw"`. See `ScenarioInfo` in
   * `_load_report.ts`.
   */
  reference?: string;
  /** Whether the hello/param budgets apply. */
  budget?: boolean;
  /** Servers deliberately left out, with the reason. */
  notes?: string[];
}

const HTTP1 = [...HTTP1_SERVERS, "hono-protected"];
const HTTP2 = HTTP1.filter((n) => SERVERS[n].h2);
const H2_NOTE = "palisade-h1 left out: the h1 engine speaks HTTP/1.1 only";

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "hello",
    title: "GET / → 200 `ok`",
    tool: "wrk",
    path: "/",
    budget: true,
    // The -noid rows show what echoing x-request-id costs on each transport.
    servers: [...HTTP1, "palisade-deno-noid", "palisade-h1-noid"],
  },
  {
    name: "param",
    title: "GET /users/12345 on the 200-route table → JSON `{id}`",
    tool: "wrk",
    path: "/users/12345",
    budget: true,
    // The budget is written against `() => new Response("ok")`; raw's param
    // handler reads req.url and builds JSON, which costs more.
    reference: "raw-ok",
    servers: HTTP1,
  },
  {
    name: "json",
    title: "POST /json with a 1 KiB JSON body, echoed after parsing",
    tool: "wrk",
    path: "/json",
    lua: postLua(jsonPayload()),
    servers: HTTP1,
  },
  {
    name: "big",
    title: "GET /big → one constant 64 KiB text body",
    tool: "wrk",
    path: "/big",
    servers: HTTP1,
  },
  {
    name: "stream",
    title: "GET /stream → 1 MiB streamed response (16 × 64 KiB chunks)",
    tool: "wrk",
    path: "/stream",
    servers: HTTP1,
  },
  {
    name: "close",
    title: "GET / with `Connection: close` (a new connection per request)",
    tool: "wrk",
    path: "/",
    headers: ["Connection: close"],
    servers: HTTP1,
  },
  {
    name: "h2",
    title: "GET / over HTTP/2 with TLS (ALPN h2), h2load",
    tool: "h2load",
    path: "/",
    tls: true,
    servers: HTTP2,
    notes: [H2_NOTE],
  },
  {
    name: "h2c",
    title: "GET / over cleartext HTTP/2 with prior knowledge, h2load",
    tool: "h2load",
    path: "/",
    servers: HTTP2,
    notes: [H2_NOTE],
  },
  {
    name: "hardened",
    title:
      "GET / on Palisade with every default spelled out (limits, deadlineMs 30000, request ids, metrics, h1 timeouts) and /metrics mounted, vs raw",
    tool: "wrk",
    path: "/",
    servers: ["raw", "palisade-deno+hardened", "palisade-h1+hardened"],
  },
];

/** A named selection of scenarios and servers. */
export interface Preset {
  scenarios: string[];
  /** Servers of every scenario; null: each scenario's own list. */
  servers: readonly string[] | null;
}

/**
 * The presets: `issue10` (the default: the closing note's five scenarios on
 * its six servers), `quick` and `all` (every scenario, each on its own
 * servers).
 */
export const PRESETS: Readonly<Record<string, Preset>> = {
  // What the performance issue's closing note quotes.
  issue10: {
    scenarios: ["hello", "param", "json", "big", "stream"],
    servers: ISSUE_SERVERS,
  },
  quick: { scenarios: ["hello", "param", "json", "hardened"], servers: null },
  // What each default costs on the deno transport (README performance).
  costs: {
    scenarios: ["hello"],
    servers: [
      "raw",
      "palisade-deno",
      "palisade-deno-noid",
      "palisade-deno-nodeadline",
      "palisade-deno-nometrics",
      "palisade-deno-bare",
    ],
  },
  all: { scenarios: SCENARIOS.map((s) => s.name), servers: null },
};

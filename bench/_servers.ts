/**
 * The servers under test, shared by the load, idle-connection and soak
 * harnesses.
 *
 * @module
 */

/** A server program and its flags. */
export interface ServerSpec {
  /** Row label, e.g. `"palisade-h1"`. */
  name: string;
  /** Program path relative to the repository root. */
  script: string;
  /** Extra flags. */
  args: string[];
  /** Whether it serves HTTP/2 (h2c with prior knowledge, h2 over TLS). */
  h2: boolean;
}

/**
 * Every server program by name.
 *
 * @example Usage
 * ```ts
 * import { SERVERS } from "./_servers.ts";
 * SERVERS.raw.script; // "bench/servers/raw.ts"
 * ```
 */
export const SERVERS: Readonly<Record<string, ServerSpec>> = {
  raw: { name: "raw", script: "bench/servers/raw.ts", args: [], h2: true },
  // Exactly `() => new Response("ok")` in every scenario: the budget's
  // reference where the raw row of a scenario does more (param reads req.url).
  "raw-ok": {
    name: "raw-ok",
    script: "bench/servers/raw.ts",
    args: ["--handler=hello"],
    h2: true,
  },
  "palisade-deno": {
    name: "palisade-deno",
    script: "bench/servers/palisade_deno.ts",
    args: [],
    h2: true,
  },
  "palisade-h1": {
    name: "palisade-h1",
    script: "bench/servers/palisade_h1.ts",
    args: [],
    h2: false,
  },
  hono: { name: "hono", script: "bench/servers/hono.ts", args: [], h2: true },
  "hono-protected": {
    name: "hono-protected",
    script: "bench/servers/hono_protected.ts",
    args: [],
    h2: true,
  },
  "palisade-deno+hardened": {
    name: "palisade-deno+hardened",
    script: "bench/servers/palisade_deno.ts",
    args: ["--hardened"],
    h2: true,
  },
  "palisade-deno-noid": {
    name: "palisade-deno-noid",
    script: "bench/servers/palisade_deno.ts",
    args: ["--no-request-id"],
    h2: true,
  },
  "palisade-deno-nodeadline": {
    name: "palisade-deno-nodeadline",
    script: "bench/servers/palisade_deno.ts",
    args: ["--no-deadline"],
    h2: true,
  },
  "palisade-deno-nometrics": {
    name: "palisade-deno-nometrics",
    script: "bench/servers/palisade_deno.ts",
    args: ["--no-metrics"],
    h2: true,
  },
  "palisade-deno-bare": {
    name: "palisade-deno-bare",
    script: "bench/servers/palisade_deno.ts",
    args: ["--no-request-id", "--no-deadline", "--no-metrics"],
    h2: true,
  },
  "palisade-h1-noid": {
    name: "palisade-h1-noid",
    script: "bench/servers/palisade_h1.ts",
    args: ["--no-request-id"],
    h2: false,
  },
  "palisade-h1+hardened": {
    name: "palisade-h1+hardened",
    script: "bench/servers/palisade_h1.ts",
    args: ["--hardened"],
    h2: false,
  },
};

/** The four servers that answer every HTTP/1.1 scenario. */
export const HTTP1_SERVERS: readonly string[] = [
  "raw",
  "palisade-deno",
  "palisade-h1",
  "hono",
];

/**
 * The rows the performance issue's closing note quotes, in its order: raw,
 * Hono, Hono with requestId + bodyLimit + timeout, Palisade on the deno
 * transport with and without request ids, Palisade on the h1 engine.
 */
export const ISSUE_SERVERS: readonly string[] = [
  "raw",
  "hono",
  "hono-protected",
  "palisade-deno",
  "palisade-deno-noid",
  "palisade-h1",
];

/**
 * Parses a `--servers=a,b` list, checking every name.
 *
 * @throws {Error} naming an unknown server.
 *
 * @example Usage
 * ```ts
 * import { serverList } from "./_servers.ts";
 * serverList("raw,hono", ["raw"]); // ["raw", "hono"]
 * ```
 */
export function serverList(
  flag: string | undefined,
  fallback: readonly string[],
): string[] {
  const names = flag === undefined ? [...fallback] : flag.split(",");
  for (const n of names) {
    if (!(n in SERVERS)) {
      throw new Error(
        `Unknown server "${n}"; servers: ${Object.keys(SERVERS).join(", ")}`,
      );
    }
  }
  return names;
}

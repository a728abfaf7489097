/**
 * Shared pieces of the benchmark server programs: command-line flags, the
 * readiness protocol the harness reads, and the stream and big payloads.
 *
 * Protocol: a server prints `READY <port>` on stdout once it accepts
 * connections, or `UNAVAILABLE <reason>` and exits with code 3 when it cannot
 * run in this build (e.g. the h1 engine does not exist yet).
 *
 * @module
 */

/** Flags every server program accepts. */
export interface ServerArgs {
  /** `--port=N`; default 0 (any free port). */
  port: number;
  /** `--scenario=NAME`; the raw server picks its handler by it. Default "". */
  scenario: string;
  /**
   * `--handler=NAME`: the raw server answers with this scenario's handler
   * whatever `--scenario` says (`raw-ok` runs `hello` in every scenario).
   * Default: the scenario's.
   */
  handler: string;
  /** `--tls-cert=FILE` and `--tls-key=FILE`: serve HTTPS (HTTP/2 via ALPN). */
  tls: { certFile: string; keyFile: string } | null;
  /** `--hardened`: Palisade with every default limit and feature on. */
  hardened: boolean;
  /** `--idle-timeout-ms=N`: h1 keep-alive idle timeout; default: the engine's. */
  idleTimeoutMs: number | undefined;
  /** `--no-request-id`: Palisade without request ids (`requestIdHeader: false`). */
  noRequestId: boolean;
  /** `--no-deadline`: Palisade without the request deadline (`deadlineMs: 0`). */
  noDeadline: boolean;
  /** `--no-metrics`: Palisade without metrics (`metrics: false`). */
  noMetrics: boolean;
}

/**
 * Parses the server flags from `Deno.args`.
 *
 * @example Usage
 * ```ts
 * import { parseServerArgs } from "./_common.ts";
 * const { port } = parseServerArgs(["--port=8000"]);
 * ```
 */
export function parseServerArgs(args: string[] = Deno.args): ServerArgs {
  const get = (name: string): string | undefined => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    return hit?.slice(name.length + 3);
  };
  const cert = get("tls-cert");
  const key = get("tls-key");
  const idle = get("idle-timeout-ms");
  return {
    port: Number(get("port") ?? 0),
    scenario: get("scenario") ?? "",
    handler: get("handler") ?? get("scenario") ?? "",
    tls: cert && key ? { certFile: cert, keyFile: key } : null,
    hardened: args.includes("--hardened"),
    noRequestId: args.includes("--no-request-id"),
    noDeadline: args.includes("--no-deadline"),
    noMetrics: args.includes("--no-metrics"),
    idleTimeoutMs: idle === undefined ? undefined : Number(idle),
  };
}

/**
 * Tells the harness the server is listening on `port`.
 *
 * @example Usage
 * ```ts
 * import { ready } from "./_common.ts";
 * ready(8000);
 * ```
 */
export function ready(port: number): void {
  console.log(`READY ${port}`);
}

/**
 * Tells the harness this server cannot run here and exits with code 3.
 *
 * @example Usage
 * ```ts
 * import { unavailable } from "./_common.ts";
 * unavailable("h1 engine not available");
 * ```
 */
export function unavailable(reason: string): never {
  console.log(`UNAVAILABLE ${reason.replace(/\s+/g, " ")}`);
  Deno.exit(3);
}

/** Size of one chunk of the stream scenario's response. */
export const STREAM_CHUNK_BYTES = 64 * 1024;
/** Number of chunks: 16 × 64 KiB = 1 MiB. */
export const STREAM_CHUNKS = 16;
const CHUNK = new Uint8Array(STREAM_CHUNK_BYTES).fill(0x61);

/**
 * Yields the stream scenario's 1 MiB response body in 64 KiB chunks.
 *
 * @example Usage
 * ```ts
 * import { streamChunks } from "./_common.ts";
 * new Response(ReadableStream.from(streamChunks()));
 * ```
 */
export async function* streamChunks(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < STREAM_CHUNKS; i++) yield CHUNK;
}

/** Size of the big scenario's response body: 64 KiB. */
export const BIG_BODY_BYTES = 64 * 1024;

/**
 * The big scenario's response body: one 64 KiB ASCII string, built once, so
 * every server answers `GET /big` with the same string object every time.
 *
 * @example Usage
 * ```ts
 * import { BIG_BODY } from "./_common.ts";
 * new Response(BIG_BODY);
 * ```
 */
export const BIG_BODY: string = "b".repeat(BIG_BODY_BYTES);

/**
 * Reads the TLS flags into the PEM strings `Deno.serve` takes.
 *
 * @example Usage
 * ```ts
 * import { parseServerArgs, readTls } from "./_common.ts";
 * const tls = readTls(parseServerArgs());
 * ```
 */
export function readTls(
  args: ServerArgs,
): { cert: string; key: string } | Record<never, never> {
  if (args.tls === null) return {};
  return {
    cert: Deno.readTextFileSync(args.tls.certFile),
    key: Deno.readTextFileSync(args.tls.keyFile),
  };
}

/**
 * TLS material for `serve()`: PEM text given inline or read from files,
 * with optional certificates per server name.
 *
 * @module
 */

import type { TlsPem } from "../transport/types.ts";
import type { TlsOptions, TlsPair } from "./options.ts";

/**
 * Resolves `tls` to PEM text, reading `certFile`/`keyFile` (and those of
 * `sni`).
 *
 * @throws {TypeError} when the option is malformed; an `Error` naming the
 * file when it cannot be read.
 */
export function readTls(tls: TlsOptions): TlsPem {
  if (typeof tls !== "object" || tls === null) {
    throw new TypeError("Option tls must be an object");
  }
  const pem: TlsPem = readPair(tls, "tls");
  if (tls.sni !== undefined) {
    if (typeof tls.sni !== "object" || tls.sni === null) {
      throw new TypeError("Option tls.sni must be an object of pairs by name");
    }
    pem.sni = {};
    for (const [name, pair] of Object.entries(tls.sni)) {
      pem.sni[name] = readPair(pair, `tls.sni["${name}"]`);
    }
  }
  return pem;
}

/** The files `tls` reads, for `watch`; throws when it names none. */
export function tlsFiles(tls: TlsOptions): string[] {
  const pairs: TlsPair[] = [tls, ...Object.values(tls.sni ?? {})];
  const files: string[] = [];
  for (const p of pairs) {
    if (!("certFile" in p)) {
      throw new TypeError(
        "Option tls.watch needs certFile and keyFile (also in sni), not inline PEM",
      );
    }
    files.push(p.certFile, p.keyFile);
  }
  return files;
}

function readPair(pair: TlsPair, option: string): TlsPem {
  if ("cert" in pair || "key" in pair) {
    const { cert, key } = pair as { cert?: unknown; key?: unknown };
    if (typeof cert !== "string" || typeof key !== "string") {
      throw new TypeError(
        `Option ${option} needs both cert and key as PEM strings`,
      );
    }
    return { cert, key };
  }
  const { certFile, keyFile } = pair as {
    certFile?: unknown;
    keyFile?: unknown;
  };
  if (typeof certFile !== "string" || typeof keyFile !== "string") {
    throw new TypeError(
      `Option ${option} needs either cert and key, or certFile and keyFile`,
    );
  }
  return {
    cert: readPem(certFile, `${option}.certFile`),
    key: readPem(keyFile, `${option}.keyFile`),
  };
}

function readPem(path: string, option: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read ${option} "${path}"`, { cause: e });
  }
}

/**
 * TLS material for `serve()`: PEM text given inline or read from files.
 *
 * @module
 */

import type { TlsPem } from "../transport/types.ts";
import type { TlsOptions } from "./options.ts";

/**
 * Resolves `tls` to PEM text, reading `certFile`/`keyFile`.
 *
 * @throws {TypeError} when the option is malformed; an `Error` naming the
 * file when it cannot be read.
 */
export function readTls(tls: TlsOptions): TlsPem {
  if ("cert" in tls || "key" in tls) {
    const { cert, key } = tls as { cert?: string; key?: string };
    if (typeof cert !== "string" || typeof key !== "string") {
      throw new TypeError("Option tls needs both cert and key as PEM strings");
    }
    return { cert, key };
  }
  const { certFile, keyFile } = tls as { certFile?: string; keyFile?: string };
  if (typeof certFile !== "string" || typeof keyFile !== "string") {
    throw new TypeError(
      "Option tls needs either cert and key, or certFile and keyFile",
    );
  }
  return {
    cert: readPem(certFile, "certFile"),
    key: readPem(keyFile, "keyFile"),
  };
}

function readPem(path: string, option: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read TLS ${option} "${path}"`, { cause: e });
  }
}

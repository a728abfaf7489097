/**
 * The certificates a TLS listener presents: a default pair and optional
 * pairs per server name (SNI), checked when they are set and replaceable for
 * the next handshakes (reload).
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import type { TlsPem } from "./types.ts";

/**
 * Builds the secure context of `pair` (TLS 1.2 and 1.3).
 *
 * @throws {Error} when the certificate or key is malformed or the key does
 * not belong to the certificate.
 */
export function secureContext(pair: TlsPem): tls.SecureContext {
  // createSecureContext takes any text as is on Deno: check the pair here.
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (e) {
    throw new Error(`the certificate cannot be read (${(e as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pair.key);
  } catch (e) {
    throw new Error(`the private key cannot be read (${(e as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error("the private key does not belong to the certificate");
  }
  return tls.createSecureContext({
    cert: pair.cert,
    key: pair.key,
    minVersion: "TLSv1.2",
  });
}

/** The certificates in force: a default one, and optional ones per name. */
export class Certificates {
  #default: tls.SecureContext;
  #byName: Map<string, tls.SecureContext>;

  /** @throws {Error} when a pair is invalid, naming the server name. */
  constructor(pem: TlsPem) {
    [this.#default, this.#byName] = build(pem);
  }

  /**
   * Replaces the certificates for the next handshakes; connections already
   * set up keep their session. Everything is checked first: a bad pair
   * leaves the old certificates in force.
   *
   * @throws {Error} when a pair is invalid.
   */
  replace(pem: TlsPem): void {
    [this.#default, this.#byName] = build(pem);
  }

  /**
   * The context for `serverName`: its own, that of a `*.` wildcard one label
   * up, or the default.
   */
  forName(serverName: string | undefined): tls.SecureContext {
    if (serverName === undefined || this.#byName.size === 0) {
      return this.#default;
    }
    const name = serverName.toLowerCase();
    const exact = this.#byName.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    return (dot === -1 ? undefined : this.#byName.get("*" + name.slice(dot))) ??
      this.#default;
  }

  /** The default context. */
  get current(): tls.SecureContext {
    return this.#default;
  }
}

function build(
  pem: TlsPem,
): [tls.SecureContext, Map<string, tls.SecureContext>] {
  const byName = new Map<string, tls.SecureContext>();
  for (const [name, pair] of Object.entries(pem.sni ?? {})) {
    try {
      byName.set(name.toLowerCase(), secureContext(pair));
    } catch (e) {
      throw new Error(
        `The TLS certificate for server name ${name} is invalid: ${
          (e as Error).message
        }`,
        { cause: e },
      );
    }
  }
  let context: tls.SecureContext;
  try {
    context = secureContext(pem);
  } catch (e) {
    throw new Error(
      `The TLS certificate is invalid: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return [context, byName];
}

/**
 * The part of `npm:ws`'s client the tests use, declared here so the type
 * check does not load `@types/node`, whose globals (`CryptoKey`, `crypto`)
 * clash with Deno's in the same program.
 */

// deno-lint-ignore-file no-explicit-any
export default class WebSocket {
  constructor(url: string, protocols?: string | string[]);
  readonly protocol: string;
  readonly readyState: number;
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  send(data: string | Uint8Array | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

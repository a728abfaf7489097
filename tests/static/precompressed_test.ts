import assert from "node:assert/strict";
import { acceptedVariants } from "../../src/static/encoding.ts";
import type { Variant } from "../../src/static/options.ts";
import { ROOT, SECRET, staticApp } from "./_helpers.ts";

const BR: Variant = { encoding: "br", suffix: ".br" };
const GZ: Variant = { encoding: "gzip", suffix: ".gz" };
const ZS: Variant = { encoding: "zstd", suffix: ".zst" };

Deno.test("acceptedVariants: q-values, *, x-gzip, ties in server order", () => {
  const pick = (h: string | null, vs: Variant[] = [BR, GZ]) =>
    acceptedVariants(h, vs).map((v) => v.encoding);
  assert.deepEqual(pick("gzip, br"), ["br", "gzip"]);
  assert.deepEqual(pick("gzip, br", [GZ, BR]), ["gzip", "br"]);
  assert.deepEqual(pick("gzip;q=1, br;q=0.5"), ["gzip", "br"]);
  assert.deepEqual(pick("br;q=0, gzip"), ["gzip"]);
  assert.deepEqual(pick("*"), ["br", "gzip"]);
  assert.deepEqual(pick("*;q=0.5, gzip;q=0.9"), ["gzip", "br"]);
  assert.deepEqual(pick("*, gzip;q=0"), ["br"]);
  assert.deepEqual(pick("X-GZIP"), ["gzip"]);
  assert.deepEqual(pick("GZIP ; Q=0.3"), ["gzip"]);
  assert.deepEqual(pick("identity"), []);
  assert.deepEqual(pick(""), []);
  assert.deepEqual(pick(null), []);
  assert.deepEqual(pick("br;q=2, gzip;q=0.1234, gzip;q=abc"), []); // invalid q-values
  assert.deepEqual(pick("br;level=5"), []); // not a q parameter
  assert.deepEqual(pick("gzip, deflate, br, zstd", [ZS, BR, GZ]), [
    "zstd",
    "br",
    "gzip",
  ]);
});

Deno.test("precompressed: picks by q-value, keeps the original type, Vary and its own ETag", async () => {
  const app = staticApp({ precompressed: true });
  const original = Deno.readFileSync(`${ROOT}/app.js`);
  const br = Deno.readFileSync(`${ROOT}/app.js.br`);
  const gz = Deno.readFileSync(`${ROOT}/app.js.gz`);
  const get = async (ae?: string) => {
    const res = await app.request("/assets/app.js", {
      headers: ae === undefined ? {} : { "accept-encoding": ae },
    });
    return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  const identity = await get();
  assert.equal(identity.res.headers.get("content-encoding"), null);
  assert.deepEqual(identity.bytes, original);
  const cases: [string, string | null, Uint8Array][] = [
    ["gzip, deflate, br", "br", br],
    ["gzip;q=1.0, br;q=0.8", "gzip", gz],
    ["br;q=0, gzip", "gzip", gz],
    ["*;q=0.5, gzip;q=0.6", "gzip", gz],
    ["deflate", null, original],
    ["identity;q=1, *;q=0", null, original],
  ];
  const etags = new Set([identity.res.headers.get("etag")]);
  for (const [ae, coding, bytes] of cases) {
    const { res, bytes: got } = await get(ae);
    assert.equal(res.headers.get("content-encoding"), coding, ae);
    assert.equal(
      res.headers.get("content-type"),
      "text/javascript; charset=utf-8",
    );
    assert.equal(res.headers.get("vary"), "accept-encoding");
    assert.equal(res.headers.get("content-length"), String(bytes.length));
    assert.deepEqual(got, bytes, ae);
    etags.add(res.headers.get("etag"));
  }
  assert.equal(etags.size, 3, "identity, br and gzip have distinct ETags");
  // The gzip variant really is app.js.
  const { bytes } = await get("gzip");
  const plain = await new Response(
    new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).arrayBuffer();
  assert.deepEqual(new Uint8Array(plain), original);
  // A range applies to the encoded bytes.
  const part = await app.request("/assets/app.js", {
    headers: { "accept-encoding": "gzip", range: "bytes=0-1" },
  });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), `bytes 0-1/${gz.length}`);
  assert.deepEqual(new Uint8Array(await part.arrayBuffer()), gz.subarray(0, 2));
  // If-None-Match with the identity tag does not validate the br variant.
  const brRes = await app.request("/assets/app.js", {
    headers: {
      "accept-encoding": "br",
      "if-none-match": identity.res.headers.get("etag")!,
    },
  });
  assert.equal(brRes.status, 200);
  await brRes.body?.cancel();
});

Deno.test("precompressed: a variant that is a symlink out of root is never sent", async () => {
  // tests/fixtures/static/root/hello.txt.gz -> ../secret.txt
  for (const followSymlinks of [false, true]) {
    const app = staticApp({ precompressed: true, followSymlinks });
    const res = await app.request("/assets/hello.txt", {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-encoding"), null);
    const text = await res.text();
    assert.equal(text, "hello world\n");
    assert.ok(!text.includes(SECRET));
  }
});

Deno.test("precompressed off: no Vary, no variant", async () => {
  const res = await staticApp().request("/assets/app.js", {
    headers: { "accept-encoding": "br, gzip" },
  });
  assert.equal(res.headers.get("vary"), null);
  assert.equal(res.headers.get("content-encoding"), null);
  assert.equal((await res.arrayBuffer()).byteLength, 1000);
});

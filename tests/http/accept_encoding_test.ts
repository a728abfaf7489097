import assert from "node:assert/strict";
import {
  type Coding,
  negotiateEncoding,
} from "../../src/http/accept_encoding.ts";

const BOTH: Coding[] = ["gzip", "deflate"];

function pick(header: string | null, offered = BOTH): Coding | null {
  return negotiateEncoding(header, offered).coding;
}

Deno.test("no header or an empty value: identity", () => {
  assert.equal(pick(null), null);
  assert.equal(pick(""), null);
  assert.equal(pick(" , ,"), null);
});

Deno.test("listed codings, case-insensitive, x-gzip as gzip; unknown ignored", () => {
  assert.equal(pick("gzip"), "gzip");
  assert.equal(pick("GZIP"), "gzip");
  assert.equal(pick("deflate"), "deflate");
  assert.equal(pick("x-gzip"), "gzip");
  assert.equal(pick("br, zstd"), null);
  assert.equal(pick("gzip, deflate, br, zstd"), "gzip");
});

Deno.test("the highest q wins; ties go to the server's order", () => {
  assert.equal(pick("gzip;q=0.5, deflate"), "deflate");
  assert.equal(pick("gzip ; q=0.8 , deflate;q=0.9"), "deflate");
  assert.equal(pick("deflate, gzip"), "gzip");
  assert.equal(pick("deflate, gzip", ["deflate", "gzip"]), "deflate");
  assert.equal(pick("gzip;Q=0.2, deflate;q=0.1"), "gzip");
});

Deno.test("q=0 refuses a coding", () => {
  assert.equal(pick("gzip;q=0"), null);
  assert.equal(pick("gzip;q=0, deflate"), "deflate");
  assert.equal(pick("gzip;q=0.000, deflate;q=0.001"), "deflate");
});

Deno.test("* matches the codings not listed", () => {
  assert.equal(pick("*"), "gzip");
  assert.equal(pick("gzip;q=0, *"), "deflate");
  assert.equal(pick("*;q=0.5, deflate"), "deflate");
  assert.equal(pick("*;q=0"), null);
  assert.equal(pick("*;q=0, deflate;q=0.3"), "deflate");
});

Deno.test("identity: wins only when listed above the best coding; refusals are reported", () => {
  assert.equal(pick("identity, gzip;q=0.5"), null);
  assert.equal(pick("identity;q=0.5, gzip"), "gzip");
  assert.equal(pick("identity;q=0.5, gzip;q=0.5"), "gzip");
  assert.deepEqual(negotiateEncoding("gzip, identity;q=0", BOTH), {
    coding: "gzip",
    identityRefused: true,
  });
  assert.deepEqual(negotiateEncoding("*;q=0", BOTH), {
    coding: null,
    identityRefused: true,
  });
  assert.deepEqual(negotiateEncoding("*;q=0, identity", BOTH), {
    coding: null,
    identityRefused: false,
  });
  assert.equal(negotiateEncoding("gzip", BOTH).identityRefused, false);
});

Deno.test("elements with an invalid q-value are ignored", () => {
  for (const q of ["2", "1.5", "0.1234", "-1", "abc", "", "1.001", ".5"]) {
    assert.equal(pick(`gzip;q=${q}`), null, q);
    assert.equal(pick(`gzip;q=${q}, deflate`), "deflate", q);
  }
  assert.equal(pick("gzip;level=9;q=1.000"), "gzip", "other parameters");
});

Deno.test("a long header is handled in one pass", () => {
  const header = "x-unknown;q=0.5, ".repeat(1000) + "deflate";
  assert.equal(pick(header), "deflate");
});

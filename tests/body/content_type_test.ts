import assert from "node:assert/strict";
import {
  isJsonType,
  parseContentDisposition,
  parseMediaType,
} from "../../src/body/content_type.ts";

Deno.test("parseMediaType lower-cases type, subtype and parameter names", () => {
  const mt = parseMediaType("Text/HTML; Charset=UTF-8");
  assert.ok(mt !== null);
  assert.equal(mt.type, "text");
  assert.equal(mt.subtype, "html");
  assert.equal(mt.essence, "text/html");
  assert.deepEqual({ ...mt.params }, { charset: "UTF-8" });
});

Deno.test("parseMediaType unquotes quoted strings with quoted-pairs", () => {
  const mt = parseMediaType(
    'multipart/form-data; boundary="a b;c=\\"d\\\\"; x=y',
  );
  assert.ok(mt !== null);
  assert.equal(mt.params.boundary, 'a b;c="d\\');
  assert.equal(mt.params.x, "y");
  assert.equal(parseMediaType('a/b; x=""')?.params.x, "");
});

Deno.test("parseMediaType allows OWS around the value and around semicolons", () => {
  for (
    const value of [
      "application/json",
      " application/json",
      "application/json ",
      "application/json\t",
      "\t application/json \t",
      "application/json;",
      "application/json ; ",
      "application/json;;",
      "application/json ; ; charset=utf-8",
      "application/json;\tcharset=utf-8\t",
    ]
  ) {
    const mt = parseMediaType(value);
    assert.equal(mt?.essence, "application/json", JSON.stringify(value));
  }
});

Deno.test("parseMediaType returns null for malformed values", () => {
  for (
    const value of [
      "",
      " ",
      "application",
      "application/",
      "/json",
      ";",
      "a/b; x",
      "a/b; x=",
      "a/b; =y",
      'a/b; x="unterminated',
      'a/b; x="bad\\',
      "a/b; x = y",
      "a/b; x=y z",
      "a/b; x=1; X=2",
      "a /b",
      "a/ b",
      "a/b/c",
      "a@/b",
      "a/b\0",
      "a\0/b",
      'a/b; x="\0"',
      'a/b; x="\n"',
      "application/json garbage",
      "application/json, text/plain",
      'a/b; x="\u0100"',
      "a/b; x=\u00e9",
    ]
  ) {
    assert.equal(parseMediaType(value), null, JSON.stringify(value));
  }
});

Deno.test("parseMediaType accepts obs-text inside quoted strings", () => {
  assert.equal(parseMediaType('a/b; x="\u00e9"')?.params.x, "\u00e9");
});

Deno.test("parseMediaType params have no prototype", () => {
  const mt = parseMediaType("a/b; __proto__=x; constructor=y");
  assert.ok(mt !== null);
  assert.equal(Object.getPrototypeOf(mt.params), null);
  assert.equal(mt.params["__proto__"], "x");
  assert.equal(mt.params.constructor, "y");
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("isJsonType accepts application/json and +json suffixes only", () => {
  const json = (value: string): boolean => isJsonType(parseMediaType(value)!);
  assert.equal(json("application/json"), true);
  assert.equal(json("APPLICATION/JSON"), true);
  assert.equal(json("application/json; charset=utf-8"), true);
  assert.equal(json("application/problem+json"), true);
  assert.equal(json("application/vnd.api+JSON"), true);
  assert.equal(json("application/jsonx"), false);
  assert.equal(json("application/+json"), false);
  assert.equal(json("text/plain"), false);
  assert.equal(json("application/json-patch"), false);
});

Deno.test("parseContentDisposition parses form-data parameters", () => {
  const d = parseContentDisposition(
    'form-data; name="field"; filename="a \\"b\\".txt"',
  );
  assert.ok(d !== null);
  assert.equal(d.type, "form-data");
  assert.equal(d.params.name, "field");
  assert.equal(d.params.filename, 'a "b".txt');
  assert.equal(parseContentDisposition("Form-Data")?.type, "form-data");
  assert.equal(parseContentDisposition(""), null);
  assert.equal(parseContentDisposition('form-data; name="x'), null);
  assert.equal(parseContentDisposition("form-data; name"), null);
  assert.equal(parseContentDisposition("form-data name=x"), null);
});

import assert from "node:assert/strict";
import { HttpError } from "../../src/http/errors.ts";
import { parseJson } from "../../src/body/json.ts";

function parseError(text: string, maxDepth = 64): HttpError {
  try {
    parseJson(text, maxDepth);
  } catch (error) {
    assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
    return error;
  }
  assert.fail(`parsed: ${JSON.stringify(text.slice(0, 40))}`);
}

Deno.test("parseJson parses JSON values", () => {
  assert.deepEqual(parseJson('{"a":[1,"x",true,null,{"b":-1.5e3}]}', 64), {
    a: [1, "x", true, null, { b: -1.5e3 }],
  });
  assert.equal(parseJson(" 42 ", 64), 42);
  assert.equal(parseJson('"[[[{{"', 1), "[[[{{");
});

Deno.test("parseJson names the position of malformed input", () => {
  const cases: [string, number, RegExp][] = [
    ["", 0, /end of input/],
    ["abc", 0, /unexpected character/],
    ['{"a":1,}', 7, /property name/],
    ["[1 2]", 3, /',' or ']'/],
    ['{"a":1 "b":2}', 7, /',' or '}'/],
    ['{"a" 1}', 5, /':'/],
    ['"abc', 4, /end of input/],
    ["[1,]", 3, /unexpected character/],
    ["01", 1, /after the value/],
    ["[1]x", 3, /after the value/],
    ['"\\x"', 2, /invalid escape/],
    ['"\\u12G4"', 2, /\\u escape/],
    ['"a\nb"', 2, /control character/],
    ["-", 1, /end of input/],
    ["-a", 1, /invalid number/],
    ["[tru]", 1, /unexpected character/],
    ["{", 1, /end of input/],
    ["[".repeat(100_000), 100_000, /end of input/],
  ];
  for (const [text, position, what] of cases) {
    const error = parseError(text, 1_000_000);
    assert.equal(error.status, 400);
    assert.ok(
      error.message.startsWith("Malformed JSON: "),
      error.message,
    );
    assert.ok(
      error.message.endsWith(` at position ${position}`),
      `${JSON.stringify(text.slice(0, 20))}: ${error.message}`,
    );
    assert.match(error.message, what);
  }
});

Deno.test("parseJson errors never echo the input", () => {
  const error = parseError('{"password": "hunter2" oops}');
  assert.equal(error.message.includes("hunter2"), false);
  assert.equal(error.message.includes("oops"), false);
});

Deno.test("parseJson enforces the depth limit", () => {
  const nest = (n: number): string => "[".repeat(n) + "]".repeat(n);
  assert.deepEqual(parseJson(nest(16), 16), JSON.parse(nest(16)));
  const deep = parseError(nest(17), 16);
  assert.equal(deep.status, 400);
  assert.equal(deep.message, "JSON nesting exceeds the jsonDepth limit of 16");
  assert.equal(parseError(nest(50), 16).status, 400);
  const objects = '{"a":'.repeat(50) + "1" + "}".repeat(50);
  assert.match(parseError(objects, 16).message, /jsonDepth limit of 16/);
  assert.equal(parseJson("[[1],[2],[3]]", 2) instanceof Array, true);
});

Deno.test("parseJson rejects 100000 open brackets without a stack overflow", () => {
  const error = parseError("[".repeat(100_000));
  assert.equal(error.message, "JSON nesting exceeds the jsonDepth limit of 64");
  const mixed = parseError('{"a":'.repeat(100_000));
  assert.match(mixed.message, /jsonDepth/);
});

Deno.test("parseJson ignores brackets inside strings, including after escaped quotes", () => {
  assert.deepEqual(parseJson('["\\"[[[[", "\\\\", "]]{{"]', 1), [
    '"[[[[',
    "\\",
    "]]{{",
  ]);
  // An escaped backslash ends before the quote: the string closes there.
  assert.match(parseError('["\\\\"[[[', 2).message, /jsonDepth limit of 2/);
});

Deno.test("parseJson strips __proto__, constructor and prototype keys", () => {
  const protoBefore = Object.getOwnPropertyNames(Object.prototype);
  const inputs = [
    '{"__proto__":{"polluted":1}}',
    '{"a":[{"__proto__":{"polluted":1}}],"b":{"c":{"__proto__":{"polluted":1}}}}',
    '[{"constructor":{"prototype":{"polluted":1}}}]',
    '{"\\u005f_proto__":{"polluted":1}}',
    '{"prototype":{"polluted":1},"keep":1}',
  ];
  for (const input of inputs) {
    const value = parseJson(input, 64);
    // Merging the result the naive way must not reach Object.prototype.
    const merge = (target: Record<string, unknown>, source: unknown): void => {
      if (source === null || typeof source !== "object") return;
      for (const [key, v] of Object.entries(source)) {
        if (v !== null && typeof v === "object") {
          target[key] ??= {};
          merge(target[key] as Record<string, unknown>, v);
        } else {
          target[key] = v;
        }
      }
    };
    merge({}, value);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, input);
    assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
    assert.equal(
      JSON.stringify(value).includes("polluted"),
      false,
      `${input} -> ${JSON.stringify(value)}`,
    );
  }
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype), protoBefore);
  const kept = parseJson('{"prototype":{"polluted":1},"keep":1}', 64) as Record<
    string,
    unknown
  >;
  assert.deepEqual(kept, { keep: 1 });
  assert.equal(Object.getPrototypeOf(kept), Object.prototype);
  const nested = parseJson(
    '{"a":{"__proto__":{"x":1},"b":2},"constructor":1}',
    64,
  );
  assert.deepEqual(nested, { a: { b: 2 } });
  assert.equal(Object.hasOwn((nested as { a: object }).a, "__proto__"), false);
});

Deno.test("parseJson keeps values that merely mention the dangerous names", () => {
  assert.deepEqual(
    parseJson('{"name":"__proto__","list":["constructor"]}', 64),
    {
      name: "__proto__",
      list: ["constructor"],
    },
  );
});

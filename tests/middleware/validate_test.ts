import assert from "node:assert/strict";
import { z } from "npm:zod@4";
import * as v from "npm:valibot@1";
import { App } from "../../src/app/app.ts";
import {
  type StandardSchemaV1,
  validate,
  type ValidationIssue,
} from "../../src/middleware/validate.ts";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  issues: ValidationIssue[];
}

async function problemOf(res: Response): Promise<Problem> {
  assert.equal(res.status, 422);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  return await res.json();
}

function echo(
  app: App,
  method: "get" | "post",
  path: string,
  target: Parameters<typeof validate>[0],
  schema: StandardSchemaV1,
): void {
  app[method](
    path,
    validate(target, schema),
    (ctx) => ctx.json(ctx.valid(target)),
  );
}

const Item = z.object({ name: z.string().min(1), price: z.number() });
const VItem = v.object({
  name: v.pipe(v.string(), v.minLength(1)),
  price: v.number(),
});

function postJson(app: App, path: string, body: unknown): Promise<Response> {
  return Promise.resolve(app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }));
}

Deno.test("json: zod and valibot outputs reach ctx.valid", async () => {
  for (const schema of [Item, VItem]) {
    const app = new App();
    echo(app, "post", "/items", "json", schema);
    const res = await postJson(app, "/items", {
      name: "pen",
      price: 2,
      extra: 1,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: "pen", price: 2 });
  }
});

Deno.test("json failure: 422 problem+json with path and message issues", async () => {
  for (const schema of [Item, VItem]) {
    const app = new App();
    echo(app, "post", "/items", "json", schema);
    const body = await problemOf(
      await postJson(app, "/items", { name: "", price: "free" }),
    );
    assert.equal(body.type, "about:blank");
    assert.equal(body.title, "Unprocessable Content");
    assert.equal(body.status, 422);
    assert.equal(body.detail, "Request json failed validation with 2 issues");
    assert.deepEqual(body.issues.map((i) => i.path), [["name"], ["price"]]);
    for (const issue of body.issues) {
      assert.equal(typeof issue.message, "string");
      assert.ok(issue.message.length > 0);
    }
  }
});

Deno.test("json: nested paths are strings, the root is []", async () => {
  const app = new App();
  echo(
    app,
    "post",
    "/",
    "json",
    z.object({ list: z.array(z.object({ n: z.number() })) }),
  );
  const nested = await problemOf(
    await postJson(app, "/", { list: [{ n: 1 }, { n: "x" }] }),
  );
  assert.deepEqual(nested.issues[0].path, ["list", "1", "n"]);
  const root = await problemOf(await postJson(app, "/", [1]));
  assert.deepEqual(root.issues[0].path, []);
});

Deno.test("json: body errors keep their own status (415, 400)", async () => {
  const app = new App();
  echo(app, "post", "/", "json", Item);
  const type = await app.request("/", { method: "POST", body: "{}" });
  assert.equal(type.status, 415);
  const bad = await app.request("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  assert.equal(bad.status, 400);
});

Deno.test("issues are bounded by maxIssues, messages and paths by maxMessageLength", async () => {
  const app = new App();
  const schema = z.array(z.number());
  app.post("/", validate("json", schema), (ctx) => ctx.json(ctx.valid("json")));
  app.post(
    "/few",
    validate("json", schema, { maxIssues: 3, maxMessageLength: 10 }),
    (ctx) => ctx.json(ctx.valid("json")),
  );
  const many = Array.from({ length: 50 }, () => "x");
  const body = await problemOf(await postJson(app, "/", many));
  assert.equal(body.issues.length, 20);
  assert.equal(
    body.detail,
    "Request json failed validation with 50 issues; the first 20 are listed",
  );
  const few = await problemOf(await postJson(app, "/few", many));
  assert.equal(few.issues.length, 3);
  for (const issue of few.issues) assert.ok(issue.message.length <= 10);
  assert.ok(few.issues[0].message.endsWith("…"));

  const long: StandardSchemaV1 = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: () => ({
        issues: [{
          message: "m".repeat(10_000),
          path: ["k".repeat(10_000), { key: Symbol("s") }],
        }],
      }),
    },
  };
  const app2 = new App();
  echo(app2, "get", "/", "query", long);
  const clipped = await problemOf(await app2.request("/"));
  assert.equal(clipped.issues[0].message.length, 200);
  assert.equal(clipped.issues[0].path[0].length, 200);
  assert.equal(clipped.issues[0].path[1], "s");
});

Deno.test("async schemas are awaited", async () => {
  const app = new App();
  const schema = z.object({ name: z.string() }).refine(
    async (value) => {
      await new Promise((r) => setTimeout(r, 1));
      return value.name !== "taken";
    },
    { message: "Name is taken", path: ["name"] },
  );
  echo(app, "post", "/", "json", schema);
  const ok = await postJson(app, "/", { name: "free" });
  assert.deepEqual(await ok.json(), { name: "free" });
  const taken = await problemOf(await postJson(app, "/", { name: "taken" }));
  assert.deepEqual(taken.issues, [{
    path: ["name"],
    message: "Name is taken",
  }]);

  const vapp = new App();
  echo(
    vapp,
    "post",
    "/",
    "json",
    v.pipeAsync(
      v.string(),
      v.checkAsync(async (s) => {
        await Promise.resolve();
        return s.length > 2;
      }, "Too short"),
    ),
  );
  const short = await problemOf(await postJson(vapp, "/", "ab"));
  assert.equal(short.issues[0].message, "Too short");
});

Deno.test("a schema that throws or returns garbage is a 500, not a crash", async () => {
  const originalError = console.error;
  console.error = () => {};
  try {
    for (
      const validate_ of [
        () => {
          throw new Error("schema bug");
        },
        () => Promise.reject(new Error("async schema bug")),
        () => null,
        () => ({ issues: "nope" }),
      ]
    ) {
      const app = new App();
      const schema = {
        "~standard": { version: 1, vendor: "bad", validate: validate_ },
      } as unknown as StandardSchemaV1;
      echo(app, "get", "/", "query", schema);
      const res = await app.request("/");
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.ok(!text.includes("bug"), "the error message is not sent");
    }
    const zapp = new App();
    echo(
      zapp,
      "get",
      "/",
      "query",
      z.object({ a: z.string() }).transform(() => {
        throw new Error("transform bug");
      }),
    );
    assert.equal((await zapp.request("/?a=1")).status, 500);
  } finally {
    console.error = originalError;
  }
});

Deno.test("query: repeated keys become arrays; coercion by the schema", async () => {
  const app = new App();
  echo(
    app,
    "get",
    "/",
    "query",
    z.object({
      page: z.coerce.number().int().min(1),
      tag: z.union([z.string(), z.array(z.string())]),
    }),
  );
  const res = await app.request("/?page=2&tag=a&tag=b");
  assert.deepEqual(await res.json(), { page: 2, tag: ["a", "b"] });
  const bad = await problemOf(await app.request("/?page=0&tag=a"));
  assert.deepEqual(bad.issues.map((i) => i.path), [["page"]]);
});

Deno.test("form: urlencoded and multipart, files kept, repeated keys arrays", async () => {
  const app = new App();
  app.post(
    "/",
    validate(
      "form",
      z.object({
        name: z.string(),
        n: z.array(z.string()),
        file: z.instanceof(File),
      }),
    ),
    (ctx) => {
      const form = ctx.valid("form") as {
        name: string;
        n: string[];
        file: File;
      };
      return ctx.json({
        name: form.name,
        n: form.n,
        file: form.file.name,
        size: form.file.size,
      });
    },
  );
  const fd = new FormData();
  fd.append("name", "x");
  fd.append("n", "1");
  fd.append("n", "2");
  fd.append("file", new File(["hello"], "a.txt"));
  const res = await app.request("/", { method: "POST", body: fd });
  assert.deepEqual(await res.json(), {
    name: "x",
    n: ["1", "2"],
    file: "a.txt",
    size: 5,
  });

  const vapp = new App();
  echo(vapp, "post", "/", "form", v.object({ a: v.string() }));
  const url = await vapp.request("/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "a=1&__proto__=x&constructor=y",
  });
  assert.deepEqual(await url.json(), { a: "1" });
  const missing = await problemOf(
    await vapp.request("/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "b=1",
    }),
  );
  assert.deepEqual(missing.issues[0].path, ["a"]);
});

Deno.test("__proto__, constructor and prototype never reach the schema as keys", async () => {
  let seen: unknown;
  const spy: StandardSchemaV1 = {
    "~standard": {
      version: 1,
      vendor: "spy",
      validate: (value) => {
        seen = value;
        return { value };
      },
    },
  };
  const app = new App();
  app.get("/", validate("query", spy), (ctx) => ctx.text("ok"));
  await app.request("/?__proto__=polluted&prototype=p&constructor=c&a=1");
  assert.equal(Object.getPrototypeOf(seen), null);
  assert.deepEqual(Object.keys(seen as object), ["a"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("params: route parameters", async () => {
  const app = new App();
  app.get(
    "/users/:id",
    validate(
      "params",
      z.object({ id: z.string().regex(/^[0-9]+$/).transform(Number) }),
    ),
    (ctx) => ctx.json(ctx.valid("params")),
  );
  assert.deepEqual(await (await app.request("/users/42")).json(), { id: 42 });
  const bad = await problemOf(await app.request("/users/abc"));
  assert.deepEqual(bad.issues[0].path, ["id"]);
});

Deno.test("headers: lower-case names", async () => {
  const app = new App();
  echo(
    app,
    "get",
    "/",
    "headers",
    z.object({ "x-api-version": z.enum(["1", "2"]) }),
  );
  const ok = await app.request("/", { headers: { "X-Api-Version": "2" } });
  assert.deepEqual(await ok.json(), { "x-api-version": "2" });
  const bad = await problemOf(
    await app.request("/", { headers: { "x-api-version": "3" } }),
  );
  assert.deepEqual(bad.issues[0].path, ["x-api-version"]);
});

Deno.test("cookies: the Cookie header, first value wins", async () => {
  const app = new App();
  echo(
    app,
    "get",
    "/",
    "cookies",
    v.object({ theme: v.picklist(["dark", "light"]) }),
  );
  const ok = await app.request("/", {
    headers: { cookie: "theme=dark; theme=light; x=1" },
  });
  assert.deepEqual(await ok.json(), { theme: "dark" });
  const bad = await problemOf(
    await app.request("/", { headers: { cookie: "theme=blue" } }),
  );
  assert.deepEqual(bad.issues[0].path, ["theme"]);
  const none = await problemOf(await app.request("/"));
  assert.deepEqual(none.issues[0].path, ["theme"]);
});

Deno.test("several targets on one route", async () => {
  const app = new App();
  app.post(
    "/items/:id",
    validate("params", z.object({ id: z.string() })),
    validate("query", z.object({ dry: z.enum(["0", "1"]) })),
    validate("json", Item),
    (ctx) =>
      ctx.json({
        params: ctx.valid("params"),
        query: ctx.valid("query"),
        json: ctx.valid("json"),
      }),
  );
  const res = await app.request("/items/7?dry=1", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "a", price: 1 }),
  });
  assert.deepEqual(await res.json(), {
    params: { id: "7" },
    query: { dry: "1" },
    json: { name: "a", price: 1 },
  });
});

Deno.test("invalid arguments are refused at factory time", () => {
  assert.throws(
    () => validate("body" as "json", Item),
    /validate\(\) target must be one of json, form, query, params, headers, cookies, got body/,
  );
  assert.throws(
    () => validate("json", {} as StandardSchemaV1),
    /validate\("json"\) schema must implement Standard Schema v1/,
  );
  assert.throws(
    () => validate("json", Item, { maxIssues: 0 }),
    /Option maxIssues must be a positive integer, got 0/,
  );
  assert.throws(
    () => validate("json", Item, { maxMessageLength: 2.5 }),
    /Option maxMessageLength must be a positive integer, got 2.5/,
  );
});

Deno.test("types: the validator carries the schema's output type for its target", () => {
  const zv = validate("json", Item);
  type ZOut = NonNullable<typeof zv["~validated"]>["json"];
  const zok: ZOut = { name: "a", price: 1 };
  // @ts-expect-error price must be a number
  const zbad: ZOut = { name: "a", price: "1" };
  const vv = validate("query", v.object({ q: v.string() }));
  type VOut = NonNullable<typeof vv["~validated"]>["query"];
  const vok: VOut = { q: "x" };
  // @ts-expect-error q is required
  const vbad: VOut = {};
  const coerced = validate("params", z.object({ id: z.coerce.number() }));
  type COut = NonNullable<typeof coerced["~validated"]>["params"];
  const cok: COut = { id: 1 };
  assert.ok(zok && zbad && vok && vbad && cok);
});

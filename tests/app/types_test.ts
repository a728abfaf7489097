/**
 * Typed routes and state are compile-time behaviour: these tests run
 * `deno check` on a file that must pass (with `@ts-expect-error` on every
 * line that must not compile) and on one that must fail.
 */

import assert from "node:assert/strict";

const fixture = new URL("../fixtures/types/typed_routes.ts", import.meta.url);
const mod = new URL("../../mod.ts", import.meta.url);

async function check(path: string): Promise<{ ok: boolean; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: out.success,
    out: decoder.decode(out.stdout) + decoder.decode(out.stderr),
  };
}

Deno.test("types: params are typed from the pattern and state from App<State>", async () => {
  const result = await check(fixture.pathname);
  assert.ok(result.ok, result.out);
});

Deno.test("types: a typo in a param name fails deno check, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bad.ts`;
    await Deno.writeTextFile(
      file,
      `import { App } from ${JSON.stringify(mod.href)};\n` +
        `new App().get("/users/:id", (ctx) => ctx.text(ctx.params.idd));\n`,
    );
    const result = await check(file);
    assert.equal(result.ok, false);
    assert.match(result.out, /TS2339/);
    assert.match(result.out, /'idd'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

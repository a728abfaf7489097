import assert from "node:assert/strict";
import { proxy } from "../../src/proxy/mod.ts";
import { front, rawUpstream, readHead, upstream } from "./_servers.ts";

for (const transport of ["h1", "deno"] as const) {
  Deno.test(`proxy on the ${transport} transport: request and response round trip`, async () => {
    const up = upstream(async (req) =>
      new Response(
        `${req.method} ${new URL(req.url).pathname}${
          new URL(req.url).search
        } ${await req.text()}`,
        {
          status: 201,
          headers: {
            "x-up": "1",
            "set-cookie": "a=1",
            "keep-alive": "timeout=5",
          },
        },
      )
    );
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/api/*", api), { transport });
    const res = await fetch(`${f.base}/api/p/q?x=1`, {
      method: "PUT",
      body: "data",
    });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), "PUT /p/q?x=1 data");
    assert.equal(res.headers.get("x-up"), "1");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1"]);
    assert.equal(res.headers.get("keep-alive"), null);
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy on the ${transport} transport: HEAD keeps the upstream's Content-Length`, async () => {
    const up = upstream((req) =>
      new Response(req.method === "HEAD" ? null : "x".repeat(100_000), {
        headers: { "content-length": "100000" },
      })
    );
    const api = proxy({ upstreams: [up.url] });
    const f = front((app) => app.all("/api/*", api), { transport });
    const res = await fetch(`${f.base}/api/`, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "100000");
    assert.equal(await res.text(), "");
    assert.equal(up.seen[0].method, "HEAD");
    await f.stop();
    await api.close();
    await up.stop();
  });

  Deno.test(`proxy on the ${transport} transport: a streamed body cut at timeoutMs fails the client's read`, async () => {
    const up = rawUpstream(async (conn) => {
      await readHead(conn);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
      );
      for (;;) {
        await new Promise((r) => setTimeout(r, 20));
        await conn.write(new TextEncoder().encode("1\r\nx\r\n"));
      }
    });
    const api = proxy({ upstreams: [up.url], timeoutMs: 200 });
    const f = front((app) => app.get("/t/*", api), { transport });
    const res = await fetch(`${f.base}/t/`);
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
    await f.stop();
    await api.close();
    await up.stop();
  });
}

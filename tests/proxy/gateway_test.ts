import assert from "node:assert/strict";
import { startGateway } from "../../examples/gateway.ts";
import { Client } from "../websocket/_helpers.ts";

Deno.test("examples/gateway.ts: /api/* is balanced over two services, /quote calls the third with the client, WebSockets pass", async () => {
  const gw = startGateway({ gateway: 0, services: [0, 0, 0] });
  try {
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/api/hello`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.path, "/hello");
      assert.equal(body.forwardedFor, "127.0.0.1");
      served.push(body.service);
    }
    assert.deepEqual(served, ["a", "b", "a", "b"]);

    const quote = await fetch(`${gw.url}/quote/apple`);
    assert.deepEqual(await quote.json(), {
      item: "apple",
      price: 0.5,
      currency: "EUR",
    });
    const missing = await fetch(`${gw.url}/quote/caviar`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).detail, "No price for caviar");

    const ws = new Client(`${gw.url.replace("http", "ws")}/api/echo`);
    await ws.opened;
    ws.ws.send("hi");
    const [echo] = await ws.received(1);
    assert.match(echo as string, /^[ab]: hi$/);
    ws.ws.close(1000);
    await ws.closed;

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(
      metrics,
      /palisade_proxy_upstream_healthy\{upstream="http:\/\/127\.0\.0\.1:\d+"\} 1/,
    );
    assert.match(
      metrics,
      /http_client_request_duration_seconds_count\{[^}]*http_response_status_code="200"\} 1/,
    );
  } finally {
    await gw.stop();
  }
});

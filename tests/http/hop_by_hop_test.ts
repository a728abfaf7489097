import assert from "node:assert/strict";
import { HOP_BY_HOP_FIELDS, stripHopByHop } from "../../src/http/hop_by_hop.ts";

Deno.test("hop-by-hop: the RFC 9110 fields and those named in Connection are removed", () => {
  const headers = new Headers({
    connection: "Keep-Alive,  X-Trace , ,bad name, close",
    "keep-alive": "timeout=5",
    "proxy-connection": "keep-alive",
    "proxy-authenticate": "Basic",
    "proxy-authorization": "Basic eA==",
    te: "trailers",
    trailer: "x-sum",
    "transfer-encoding": "chunked",
    upgrade: "h2c",
    "x-trace": "1",
    "content-type": "text/plain",
    "x-end-to-end": "kept",
  });
  stripHopByHop(headers);
  assert.deepEqual([...headers.keys()], ["content-type", "x-end-to-end"]);
});

Deno.test("hop-by-hop: the fixed list", () => {
  assert.deepEqual([...HOP_BY_HOP_FIELDS].sort(), [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
  ]);
  assert.ok(Object.isFrozen(HOP_BY_HOP_FIELDS));
});

Deno.test("hop-by-hop: headers without Connection lose only the fixed fields", () => {
  const headers = new Headers({ te: "trailers", accept: "*/*" });
  stripHopByHop(headers);
  assert.deepEqual([...headers], [["accept", "*/*"]]);
});

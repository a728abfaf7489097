/**
 * A WebSocket chat in one file: an HTML page with inline JavaScript at `/`
 * and the socket at `/chat`; every message goes to every connected client.
 *
 *   npx -y deno@2.9.6 run --allow-net examples/chat.ts   # http://127.0.0.1:8000
 *
 * Open the page in two tabs and talk. Stop the server (Ctrl-C): each page
 * shows the 1001 "going away" close the graceful shutdown sends.
 *
 * @module
 */

import { App, serve } from "../mod.ts";
import { upgradeWebSocket, type WSContext } from "../src/websocket/mod.ts";

/** Longest chat message, in UTF-8 bytes; longer ones close the socket with 1009. */
const MAX_MESSAGE_BYTES = 2048;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Palisade chat</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: 0; min-height: 10rem; border: 1px solid #ccc; padding: .5rem; }
  #log .from { font-weight: bold; margin-right: .5rem; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  input { flex: 1; font: inherit; padding: .25rem; }
</style>
</head>
<body>
<h1>Palisade chat</h1>
<p>Status: <span id="status">connecting</span> <span id="me"></span></p>
<ul id="log"></ul>
<form id="form">
  <input id="text" autocomplete="off" maxlength="500" placeholder="Say something" aria-label="Message">
  <button id="send">Send</button>
</form>
<p>Close codes: <span id="closes"></span></p>
<script>
  const $ = (id) => document.getElementById(id);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(scheme + "://" + location.host + "/chat");
  ws.onopen = () => { $("status").textContent = "open"; };
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "welcome") {
      $("me").textContent = "(you are " + msg.name + ")";
      return;
    }
    const li = document.createElement("li");
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = msg.from;
    li.append(from, document.createTextNode(msg.text));
    $("log").append(li);
  };
  ws.onclose = (event) => {
    $("status").textContent = "closed";
    const code = document.createElement("span");
    code.className = "close-code";
    code.textContent = String(event.code);
    $("closes").append(code);
  };
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text !== "" && ws.readyState === WebSocket.OPEN) ws.send(text);
    $("text").value = "";
  });
</script>
</body>
</html>
`;

/**
 * Builds the chat App: `GET /` serves the page, `GET /chat` is the
 * WebSocket that broadcasts each text message to every client.
 *
 * @example Usage
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * import { createChatApp } from "./chat.ts";
 * serve(createChatApp(), { port: 0, transport: "h1" });
 * ```
 */
export function createChatApp(): App {
  const clients = new Set<WSContext>();
  let guests = 0;
  const broadcast = (message: unknown): void => {
    const text = JSON.stringify(message);
    for (const client of clients) client.send(text);
  };

  const app = new App();
  app.get("/", (ctx) => ctx.html(PAGE));
  app.get(
    "/chat",
    upgradeWebSocket(() => {
      const name = `guest-${++guests}`;
      return {
        onOpen(_event, ws) {
          clients.add(ws);
          ws.send(JSON.stringify({ type: "welcome", name }));
          broadcast({
            type: "message",
            from: "server",
            text: `${name} joined`,
          });
        },
        onMessage(event, ws) {
          if (typeof event.data !== "string") {
            ws.close(4003, "Text messages only");
            return;
          }
          const text = event.data.trim();
          if (text !== "") broadcast({ type: "message", from: name, text });
        },
        onClose(_event, ws) {
          if (clients.delete(ws)) {
            broadcast({
              type: "message",
              from: "server",
              text: `${name} left`,
            });
          }
        },
      };
    }, { maxMessageBytes: MAX_MESSAGE_BYTES }),
  );
  return app;
}

if (import.meta.main) {
  serve(createChatApp(), {
    port: 8000,
    transport: "h1",
    onListen: (addr) =>
      console.log(`Chat listening on http://${addr.hostname}:${addr.port}/`),
  });
}

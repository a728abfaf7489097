/**
 * Load generator of `bench/websocket_load.ts`, run as its own (pinned)
 * process with Deno's `WebSocket` client.
 *
 * - Echo mode: `--conns=N` sockets each send a `--size`-byte text message,
 *   wait for the echo and send the next (ping-pong). After `--warmup`
 *   seconds it prints `MEASURE`, then after `--seconds` more
 *   `DONE <round trips> <seconds>`.
 * - Idle mode (`--idle`): opens `--conns` sockets, prints `OPEN <n>` and
 *   keeps them open until killed.
 *
 * @module
 */

const get = (name: string): string | undefined =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const port = Number(get("port"));
const conns = Number(get("conns") ?? 50);
const size = Number(get("size") ?? 32);
const warmup = Number(get("warmup") ?? 2);
const seconds = Number(get("seconds") ?? 5);
const url = `ws://127.0.0.1:${port}/`;

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(new Error((e as ErrorEvent).message));
  });
}

async function openAll(n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += 100) {
    out.push(
      ...await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, open),
      ),
    );
  }
  return out;
}

if (Deno.args.includes("--idle")) {
  const sockets = await openAll(conns);
  console.log(`OPEN ${sockets.length}`);
  await new Promise(() => {}); // until killed
}

const message = "x".repeat(size);
let count = 0;
let running = true;
const sockets = await openAll(conns);
for (const ws of sockets) {
  ws.onmessage = () => {
    count++;
    if (running) ws.send(message);
  };
  ws.send(message);
}
await new Promise((r) => setTimeout(r, warmup * 1000));
const start = count;
const t0 = performance.now();
console.log("MEASURE");
await new Promise((r) => setTimeout(r, seconds * 1000));
const done = count - start;
const elapsed = (performance.now() - t0) / 1000;
console.log(`DONE ${done} ${elapsed}`);
running = false;
Deno.exit(0);

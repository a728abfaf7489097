/**
 * `export default app` under `deno serve`: SIGTERM drains like `serve()`
 * (the SSE stream ends cleanly at once, a raw stream is cut after the App's
 * `graceMs`) and the process exits instead of waiting on open streams.
 */

import assert from "node:assert/strict";

const fixture = new URL("../fixtures/deno_serve_app.ts", import.meta.url);

async function readUntilClose(
  res: Response,
): Promise<{ text: string; failed: boolean }> {
  let text = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) text += decoder.decode(chunk);
    return { text, failed: false };
  } catch {
    return { text, failed: true };
  }
}

Deno.test({
  name: "deno serve: SIGTERM drains open streams and the process exits",
  ignore: Deno.build.os === "windows",
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "serve",
        "-A",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        fixture.pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let log = "";
    let port = 0;
    while (port === 0) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
      const m = log.match(/Listening on http:\/\/[^:]+:(\d+)/);
      if (m) port = Number(m[1]);
    }
    assert.ok(port > 0, log);
    const drainLog = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        log += value;
      }
    })();
    child.stdout.cancel();
    const base = `http://127.0.0.1:${port}`;
    assert.equal(await (await fetch(base + "/")).text(), "ok");
    const sse = await fetch(base + "/sse");
    const raw = await fetch(base + "/raw");
    const sseText = readUntilClose(sse);
    const rawText = readUntilClose(raw);
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    // A watchdog, not a timing assertion: without the drain the process
    // would wait on the raw stream forever.
    let watchdogFired = false;
    const watchdog = setTimeout(() => {
      watchdogFired = true;
      child.kill("SIGKILL");
    }, 20_000);
    const status = await child.status;
    clearTimeout(watchdog);
    await drainLog;
    const s = await sseText;
    const r = await rawText;
    assert.equal(s.failed, false, "SSE ends cleanly");
    assert.ok(s.text.includes("data: tick"));
    assert.ok(r.text.includes("tick 1"));
    assert.equal(r.failed, true, "the raw stream is cut, never cleanly ended");
    assert.equal(watchdogFired, false, "the process exited by itself");
    assert.equal(status.code, 0, log);
  },
});

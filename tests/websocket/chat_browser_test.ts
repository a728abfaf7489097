/**
 * The chat example in headless Chromium: two pages on the h1 transport, a
 * message typed in one appears in the other, and a graceful shutdown shows
 * the 1001 close in both pages. Ignored when `/usr/bin/chromium` is missing
 * (Debian package `chromium`).
 */

import assert from "node:assert/strict";
import { createChatApp } from "../../examples/chat.ts";
import { serve } from "../../src/server/serve.ts";

const CHROMIUM = "/usr/bin/chromium";

function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Runs a command to completion; its stdout, trimmed. */
async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

// Page-side predicates, as source text (they run in the browser).
const statusIs = (status: string): string =>
  `document.getElementById("status")?.textContent === ${
    JSON.stringify(status)
  }`;
const logHas = (line: string): string =>
  `[...document.querySelectorAll("#log li")].some((li) => li.textContent === ${
    JSON.stringify(line)
  })`;

Deno.test({
  name:
    "chat example in Chromium: messages cross pages, shutdown shows 1001 (needs the chromium package)",
  ignore: !hasChromium(),
  async fn() {
    const server = serve(createChatApp(), {
      transport: "h1",
      port: 0,
      hostname: "127.0.0.1",
      shutdown: { signals: [], graceMs: 5_000 },
    });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    // Made and removed by subprocesses: the test needs no write permission.
    const profile = await run("mktemp", "-d");
    // Imported here, not at the top: its types load @types/node, whose
    // globals clash with Deno's in a type check of the whole tree.
    const { default: puppeteer } = await import("npm:puppeteer-core@25");
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: false, // --headless is in the args, as given
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
      ],
    });
    try {
      // Only the front page runs animation frames (puppeteer's clicks and
      // waits need them), so each page is brought to front before use.
      const [a, b] = [await browser.newPage(), await browser.newPage()];
      for (const page of [a, b]) {
        await page.bringToFront();
        await page.goto(url);
        await page.waitForFunction(statusIs("open"));
      }
      await a.bringToFront();
      await a.type("#text", "hello from page A");
      await a.click("#send");
      await b.bringToFront();
      await b.waitForFunction(logHas("guest-1hello from page A"));
      // The sender sees its own message too (broadcast).
      await a.bringToFront();
      await a.waitForFunction(logHas("guest-1hello from page A"));

      const report = await server.shutdown();
      assert.equal(report.aborted, 0);
      for (const page of [a, b]) {
        await page.bringToFront();
        await page.waitForFunction(statusIs("closed"));
        const codes = await page.evaluate(
          `[...document.querySelectorAll(".close-code")].map((e) => e.textContent)`,
        );
        assert.deepEqual(codes, ["1001"]);
      }
    } finally {
      await browser.close();
      await server.shutdown();
      await run("rm", "-rf", profile);
    }
  },
});

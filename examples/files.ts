/**
 * Static files and streamed uploads: `serveStatic` serves `examples/public/`
 * (an upload form), and `POST /upload` streams each uploaded file to a
 * temporary directory with a 50 MiB body limit, never holding a file in
 * memory.
 *
 *   npx -y deno@2.9.6 run --allow-net --allow-read --allow-write examples/files.ts
 *
 * Try:
 *   open http://127.0.0.1:8000/
 *   curl -F note=hi -F files=@README.md 127.0.0.1:8000/upload
 *   curl -I 127.0.0.1:8000/style.css
 *   curl -H 'range: bytes=0-15' 127.0.0.1:8000/index.html
 *   curl '127.0.0.1:8000/..%2f..%2fetc/passwd'        # 400
 *
 * @module
 */

import { App, safeFilename, serve } from "../mod.ts";
import { serveStatic } from "../src/static/mod.ts";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const BODY_BYTES = 50 << 20;
const uploads = await Deno.makeTempDir({ prefix: "palisade_uploads_" });
const app = new App();

app.post("/upload", { limits: { bodyBytes: BODY_BYTES } }, async (ctx) => {
  const saved: string[] = [];
  let note = "";
  // Parts arrive as the bytes do: files go to disk without being buffered;
  // every limit is a 413 (wrong type: 415) before more than it is read.
  const parts = ctx.body.parts({
    maxFiles: 10,
    maxFields: 20,
    maxFieldBytes: 1024,
  });
  for await (const part of parts) {
    if (part.kind === "field") {
      if (part.name === "note") note = part.value;
      continue;
    }
    if (part.filename === "") { // an empty file input
      await part.stream.cancel();
      continue;
    }
    // A random prefix keeps uploads from different clients apart.
    const name = `${crypto.randomUUID()}-${safeFilename(part.filename)}`;
    const path = `${uploads}/${name}`;
    const file = await Deno.open(path, { write: true, createNew: true });
    try {
      await part.stream.pipeTo(file.writable); // closes the file
    } catch (error) {
      await Deno.remove(path).catch(() => {}); // e.g. over the body limit
      throw error;
    }
    saved.push(name);
  }
  const items = saved.map((n) => `<li>${escapeHtml(n)}</li>`).join("");
  return ctx.html(
    `<!DOCTYPE html><meta charset="utf-8"><title>Uploaded</title>` +
      `<p>Saved ${saved.length} file(s) to ${escapeHtml(uploads)}` +
      (note === "" ? "" : ` with the note “${escapeHtml(note)}”`) +
      `:</p><ul>${items}</ul><p><a href="/">Back</a></p>`,
  );
});

app.get(
  "/*",
  serveStatic({
    root: `${import.meta.dirname}/public`,
    maxAgeSec: 60,
  }),
);

serve(app, {
  port: 8000,
  hostname: "127.0.0.1",
  onListen: (addr) =>
    console.log(
      `Listening on http://${addr.hostname}:${addr.port}/ (uploads go to ${uploads})`,
    ),
});

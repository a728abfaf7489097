/**
 * `ctx.body.form()` for multipart bodies: the streaming parser's parts
 * collected into a `FormData` (file parts become `File`s), so the buffered
 * reader applies exactly the limits of `ctx.body.parts()`.
 *
 * @module
 */

import type { Part } from "./multipart_types.ts";

/**
 * Collects `parts` into a `FormData`. Holds every field and file in memory:
 * about the body's size, once.
 */
export async function formFromParts(
  parts: AsyncIterable<Part>,
): Promise<FormData> {
  const form = new FormData();
  for await (const part of parts) {
    if (part.kind === "field") {
      form.append(part.name, part.value);
      continue;
    }
    const bytes = await new Response(part.stream).arrayBuffer();
    form.append(
      part.name,
      new File([bytes], part.filename, { type: part.type }),
    );
  }
  return form;
}

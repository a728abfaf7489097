/**
 * HTML directory listings (`listing: true`).
 *
 * @module
 */

import { checkRelative } from "./resolve.ts";

/** Most entries a listing shows; the rest are left out with a note. */
export const MAX_LISTING_ENTRIES = 10_000;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes `&<>"'` for HTML text and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** What a listing shows. */
export interface ListingOptions {
  /** List names starting with `.`. */
  dotfiles: boolean;
  /** List symlinks (only when they may be followed). */
  symlinks: boolean;
  /** Link to the parent directory (false at the root). */
  parent: boolean;
}

interface Item {
  name: string;
  dir: boolean;
}

/**
 * Renders the listing of the directory `dir` titled with the request path
 * `title`. Every name is HTML-escaped and its link is `./` plus the
 * percent-encoded name (plus `/` for directories), so no name can inject
 * markup, a scheme (`javascript:`) or another path. Names that could never
 * be served (device names, `:`, control characters) are left out.
 */
export async function renderListing(
  dir: string,
  title: string,
  options: ListingOptions,
): Promise<string> {
  const items: Item[] = [];
  let truncated = false;
  for await (const entry of Deno.readDir(dir)) {
    const name = entry.name;
    if (entry.isSymlink && !options.symlinks) continue;
    if (!options.dotfiles && name.startsWith(".")) continue;
    if (checkRelative(name).kind !== "ok") continue;
    if (items.length === MAX_LISTING_ENTRIES) {
      truncated = true;
      break;
    }
    items.push({ name, dir: entry.isDirectory });
  }
  items.sort((a, b) =>
    a.dir !== b.dir ? (a.dir ? -1 : 1) : a.name < b.name ? -1 : 1
  );
  const heading = escapeHtml(title);
  let html = '<!DOCTYPE html>\n<html lang="en">\n<head>\n' +
    '<meta charset="utf-8">\n' +
    `<title>Index of ${heading}</title>\n</head>\n<body>\n` +
    `<h1>Index of ${heading}</h1>\n<ul>\n`;
  if (options.parent) html += '<li><a href="../">../</a></li>\n';
  for (const { name, dir } of items) {
    const slash = dir ? "/" : "";
    html += `<li><a href="./${encodeURIComponent(name)}${slash}">${
      escapeHtml(name)
    }${slash}</a></li>\n`;
  }
  html += "</ul>\n";
  if (truncated) {
    html += `<p>Only the first ${MAX_LISTING_ENTRIES} entries are shown.</p>\n`;
  }
  return html + "</body>\n</html>\n";
}

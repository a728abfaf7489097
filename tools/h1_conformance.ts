/**
 * Measures how Palisade's h1 engine agrees with llhttp's request fixtures
 * (`test/request/*.md` of https://github.com/nodejs/llhttp) and with the
 * cases of https://github.com/uNetworking/h1spec (`http_test.ts`). The
 * fixtures are not part of this repository: clone both repositories and
 * point the tool at them:
 * `deno run -A tools/h1_conformance.ts --llhttp=<llhttp>/test/request --h1spec=<h1spec>`
 * (`--idle=<ms>`, default 300: silence that ends a case; `--only=<text>`:
 * cases whose name contains it). It prints a Markdown report.
 *
 * Each case gets a fresh h1 server whose App answers every method and path
 * with the body length; the bytes go over a raw connection, read until close
 * or idle. Palisade's outcome: the 2xx count and the first 4xx/5xx (or a
 * close). llhttp's: the `message complete` count and any `error` line. The
 * same count, with both rejecting or neither, is an agreement. A case that
 * differs, or agrees only by a rejection that masks its point (no `Host`, a
 * fragment), is retried with `Host` added, the fragment cut or the head
 * ended, and that result is shown too.
 *
 * @module
 */

import { App } from "../src/app/app.ts";
import { serve } from "../src/server/serve.ts";

/** One llhttp fixture case, as read from its markdown. */
interface LlhttpCase {
  name: string;
  meta: Record<string, unknown> | null;
  http: string;
  log: string[] | null;
}

/** What llhttp's log says should happen. */
interface Expectation {
  messages: number;
  /** The `error` line's reason, or null when the log has none. */
  error: string | null;
  /** The parser paused to hand the connection over (CONNECT, Upgrade). */
  upgrade: boolean;
}

/** What Palisade did with the bytes. */
interface Outcome {
  ok: number;
  /** First 4xx/5xx status, or null. */
  reject: number | null;
  /** The `detail` of the rejection's problem+json body, if any. */
  detail: string;
  closed: boolean;
  /** First status and body on the wire (for h1spec). */
  first: number | null;
  firstBody?: string;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Splits an llhttp fixture file into its cases. */
function parseMarkdown(text: string): LlhttpCase[] {
  const cases: LlhttpCase[] = [];
  let heading = "";
  let meta: Record<string, unknown> | null = null;
  let current: LlhttpCase | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1].trim();
      meta = null;
      continue;
    }
    const m = /<!--\s*meta=(\{.*\})\s*-->/.exec(line);
    if (m) {
      meta = JSON.parse(m[1]);
      continue;
    }
    const fence = /^```(http|log)\s*$/.exec(line);
    if (!fence) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith("```"); i++) {
      body.push(lines[i]);
    }
    // The fence's content, with the newline that ends its last line.
    const content = body.length === 0 ? "" : body.join("\n") + "\n";
    if (fence[1] === "http") {
      current = { name: heading, meta, http: content, log: null };
      cases.push(current);
    } else if (current !== null && current.log === null) {
      current.log = content.split("\n").slice(0, -1);
    }
  }
  return cases;
}

/** Turns a ```http block into bytes, the way llhttp's test harness does. */
function fixtureBytes(raw: string): Uint8Array {
  const s = raw.replace(/\n$/, "").replace(/\\(\r\n|\r|\n)/g, "")
    .replace(/\r\n|\r|\n/g, "\r\n").replace(/\\r/g, "\r").replace(/\\n/g, "\n")
    .replace(/\\t/g, "\t").replace(/\\f/g, "\f")
    .replace(
      /\\x([0-9a-fA-F]+)/g,
      (_, h) => String.fromCharCode(parseInt(h, 16)),
    )
    .replace(/\\([0-7]{1,3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  // The harness writes the string as UTF-8 (its logs count `ü` as 2 bytes).
  return encoder.encode(s);
}

/** Reads llhttp's expectation off a log block. */
function expectationOf(log: string[]): Expectation {
  let messages = 0;
  let error: string | null = null;
  let upgrade = false;
  for (const line of log) {
    if (/^off=\S+ message complete$/.test(line)) messages++;
    const e = /^off=\S+ error code=(\d+) reason="(.*)"$/.exec(line);
    if (e) {
      if (e[2] === "Pause on CONNECT/Upgrade") upgrade = true;
      else error = `${e[1]} ${e[2]}`;
    }
  }
  return { messages, error, upgrade };
}

/** Why a case is not run, or null when it is. */
function skipReason(c: LlhttpCase): string | null {
  if (c.meta === null) return "no meta (not run by llhttp)";
  if (c.log === null) return "no log block";
  const type = String(c.meta.type ?? "");
  if (c.meta.mode === "loose") return "loose-mode variant";
  if (/lenient/.test(type)) return "lenient flag (opt-in leniency)";
  if (type === "request-finish") return "llhttp_finish() API case";
  if (type.startsWith("response")) return "response case";
  if (type !== "request" && type !== "request-only") return `type ${type}`;
  return /\$\{/.test(c.http) ? "inline JavaScript in the fixture" : null;
}

/** Answers every method and path with the body length. */
function echoApp(): App {
  const app = new App();
  app.use(async (ctx) => {
    const body = await ctx.body.bytes();
    return ctx.text(String(body.length));
  });
  return app;
}

/** Sends `bytes` to a fresh h1 server and records what comes back. */
async function runBytes(bytes: Uint8Array, idleMs: number): Promise<Outcome> {
  const server = serve(echoApp(), {
    transport: "h1",
    port: 0,
    hostname: "127.0.0.1",
    shutdown: { signals: [], graceMs: 200 },
  });
  const conn = await Deno.connect({ ...server.addr, transport: "tcp" });
  let wire = "", closed = false;
  try {
    await conn.write(bytes);
    const buf = new Uint8Array(65536);
    for (const end = Date.now() + 5_000; Date.now() < end;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<"idle">((r) => {
        timer = setTimeout(() => r("idle"), idleMs);
      });
      const n = await Promise.race([conn.read(buf), idle]).catch(() => null);
      clearTimeout(timer);
      if (n === "idle" || (closed = n === null)) break;
      wire += latin1.decode(buf.subarray(0, n!));
    }
  } catch {
    closed = true;
  } finally {
    conn.close();
    await server.shutdown();
  }
  return outcomeOf(wire, closed);
}

/** Splits the bytes Palisade sent into responses. */
function outcomeOf(wire: string, closed: boolean): Outcome {
  const o: Outcome = { ok: 0, reject: null, detail: "", closed, first: null };
  // Palisade answers with Content-Length (1xx: no body).
  for (let p = 0; p < wire.length;) {
    const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(wire.slice(p));
    const end = wire.indexOf("\r\n\r\n", p);
    if (!m || end < 0) break;
    const status = Number(m[1]);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(wire.slice(p, end));
    const len = status >= 200 && cl ? Number(cl[1]) : 0;
    const body = wire.slice(end + 4, end + 4 + len);
    p = end + 4 + len;
    if (o.first === null) [o.first, o.firstBody] = [status, body];
    if (o.reject !== null) continue;
    if (status >= 200 && status < 300) o.ok++;
    else if (status >= 400) {
      o.reject = status;
      o.detail = /"detail":\s*"((?:[^"\\]|\\.)*)"/.exec(body)?.[1] ?? "";
    }
  }
  return o;
}

function agrees(e: Expectation, o: Outcome): boolean {
  if (o.ok !== e.messages) return false;
  if (e.upgrade) return true;
  if (e.error !== null) return o.reject !== null || o.closed;
  return o.reject === null;
}

function describeExpectation(e: Expectation): string {
  const msgs = `${e.messages} message${e.messages === 1 ? "" : "s"}`;
  if (e.upgrade) return `${msgs}, then pause for CONNECT/Upgrade`;
  return e.error === null ? `accept ${msgs}` : `${msgs}, then error ${e.error}`;
}

function describeOutcome(o: Outcome): string {
  let s = `accepted ${o.ok}`;
  if (o.reject !== null) s += `, rejected ${o.reject}`;
  if (o.detail) s += ` (${o.detail})`;
  if (o.reject === null) s += o.closed ? ", closed" : ", waiting";
  return s;
}

/** Adds `Host` after every HTTP/1.1 request line of a head without one. */
function withHost(s: string): string | null {
  if (/(^|\n)host[ \t]*:/i.test(s)) return null;
  const re =
    /(^|\n)([!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ \r\n]+ HTTP\/1\.1(\r?\n))/g;
  if (!re.test(s)) return null;
  return s.replace(re, (_, a, line, eol) => `${a}${line}Host: a${eol}`);
}

/** Rejections that may hide what a case is about; such cases are retried. */
const MASKING = ["Missing Host field", "Request target contains a fragment"];

/**
 * The bytes to retry a case with, and what was changed, or null: `Host`
 * added when the case lacks it, a fragment cut from the target, and the
 * head ended (CRLF CRLF appended) when llhttp errors at once but Palisade
 * waits for the rest of the head.
 */
function retryOf(
  bytes: Uint8Array,
  exp: Expectation,
  got: Outcome,
): [Uint8Array, string] | null {
  let s = latin1.decode(bytes);
  const changes: string[] = [];
  const edit = (t: string | null, what: string) => {
    if (t === null || t === s) return;
    s = t;
    changes.push(what);
  };
  edit(withHost(s), "Host added");
  edit(s.replace(/#[^ \r\n]*( HTTP\/)/g, "$1"), "fragment cut");
  if (exp.error !== null && got.reject === null && !got.closed) {
    edit(s + "\r\n\r\n", "head ended");
  }
  if (changes.length === 0) return null;
  return [Uint8Array.from(s, (c) => c.charCodeAt(0)), changes.join(", ")];
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

const TABLE =
  "| file | case | llhttp expects | Palisade | retried |\n|-|-|-|-|-|";

async function runLlhttp(dir: string, idleMs: number, only: string) {
  const files = [...Deno.readDirSync(dir)].map((e) => e.name)
    .filter((n) => n.endsWith(".md")).sort();
  const skipped = new Map<string, number>();
  const rows: string[] = [], hidden: string[] = [], perFile: string[] = [];
  let total = 0, agreed = 0;
  for (const f of files) {
    let a = 0, d = 0, s = 0;
    for (const c of parseMarkdown(Deno.readTextFileSync(`${dir}/${f}`))) {
      if (only && !c.name.includes(only)) continue;
      const why = skipReason(c);
      if (why !== null) {
        skipped.set(why, (skipped.get(why) ?? 0) + 1);
        s++;
        continue;
      }
      const exp = expectationOf(c.log!);
      const bytes = fixtureBytes(c.http);
      const got = await runBytes(bytes, idleMs);
      const same = agrees(exp, got);
      const masked = MASKING.includes(got.detail);
      const retry = same && !masked ? null : retryOf(bytes, exp, got);
      let again = "", againAgrees = false;
      if (retry !== null) {
        const o = await runBytes(retry[0], idleMs);
        againAgrees = agrees(exp, o);
        again = `${retry[1]}; ${againAgrees ? "agrees" : "differs"}: ${
          describeOutcome(o)
        }`;
      }
      const row = [f, c.name, describeExpectation(exp), describeOutcome(got)];
      const line = `| ${[...row, again].map(cell).join(" | ")} |`;
      total++;
      if (same) a++;
      else d++;
      if (!same) rows.push(line);
      else if (retry !== null && !againAgrees) hidden.push(line);
    }
    agreed += a;
    perFile.push(`| ${f} | ${a} | ${d} | ${s} |`);
  }
  console.log(`## llhttp request fixtures

Cases run: ${total}, agreements: ${agreed}, disagreements: ${total - agreed}

| file | agree | disagree | skipped |\n|-|-|-|-|\n${perFile.join("\n")}

Skipped by reason:

${[...skipped].map(([why, n]) => `- ${why}: ${n}`).join("\n")}

### Disagreements\n\n${TABLE}\n${rows.join("\n")}

### Agreements only by a masking rejection (Host, fragment) that differ on retry

${TABLE}\n${hidden.join("\n")}\n`);
}

/** Reads the `testCases` array of h1spec's `http_test.ts` without running it. */
function parseH1spec(text: string) {
  const start = text.indexOf("testCases");
  const end = text.indexOf("\n];", start);
  const literal = (src: string, key: string): string | null => {
    const m = new RegExp(`${key}:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(src);
    if (!m) return null;
    const json = m[1].replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1");
    return JSON.parse(`"${json}"`);
  };
  return text.slice(start, end).split(/\n\s*\{/).slice(1).map((obj) => ({
    request: literal(obj, "request") ?? "",
    description: literal(obj, "description") ?? "",
    expectedStatus: <[number, number][]> JSON.parse(
      /expectedStatus:\s*(\[.*\])\s*,?\s*$/m.exec(obj)?.[1] ?? "[]",
    ),
    expectedTimeout: /expectedTimeout:\s*true/.test(obj),
    expectedBody: literal(obj, "expectedBody"),
  }));
}

async function runH1spec(path: string, idleMs: number, only: string) {
  if (Deno.statSync(path).isDirectory) path += "/http_test.ts";
  const rows: string[] = [];
  let run = 0, agreed = 0;
  for (const c of parseH1spec(Deno.readTextFileSync(path))) {
    if (only && !c.description.includes(only)) continue;
    run++;
    const bytes = Uint8Array.from(c.request, (ch) => ch.charCodeAt(0));
    const got = await runBytes(bytes, idleMs);
    const st = got.first;
    const body = c.expectedBody;
    const ok = c.expectedTimeout
      ? st === null && !got.closed
      : st !== null && c.expectedStatus.some(([l, h]) => st >= l && st <= h) &&
        (st !== 200 || body === null || got.firstBody === `${body.length}`);
    if (ok) agreed++;
    else {
      const want = c.expectedTimeout
        ? "wait (no answer, no close)"
        : JSON.stringify(c.expectedStatus) + (body ? `, body ${body}` : "");
      rows.push(
        `| ${
          [c.description, want, describeOutcome(got)].map(cell).join(" | ")
        } |`,
      );
    }
  }
  console.log(`## h1spec

Cases run: ${run}, agreements: ${agreed}, disagreements: ${run - agreed}

| case | h1spec expects | Palisade |\n|-|-|-|\n${rows.join("\n")}\n`);
}

const flag = (n: string) =>
  Deno.args.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3);

if (import.meta.main) {
  const idleMs = Number(flag("idle") ?? 300);
  const only = flag("only") ?? "";
  const [llhttp, h1spec] = [flag("llhttp"), flag("h1spec")];
  if (!llhttp && !h1spec) {
    throw new Error("Pass --llhttp=<dir> --h1spec=<path>");
  }
  if (llhttp) await runLlhttp(llhttp, idleMs, only);
  if (h1spec) await runH1spec(h1spec, Math.max(idleMs, 500), only);
}

import assert from "node:assert/strict";
import {
  MAX_LEADING_EMPTY_LINES,
  MAX_SEPARATOR_BYTES,
  ParseError,
  type ParserLimits,
  type RequestHead,
  RequestParser,
} from "../../../src/transport/h1/parser/parser.ts";

const LIMITS: ParserLimits = {
  urlBytes: 8192,
  headerBytes: 16384,
  headerCount: 100,
};

/** Encodes each char code as one byte (latin1), so tests can send obs-text. */
function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

interface Message {
  head: RequestHead;
  body: string;
  trailers: string[] | null;
}

interface Outcome {
  messages: Message[];
  error: ParseError | null;
  /** Bytes handed to the parser, up to and including the failing chunk. */
  fed: number;
  /** Whether the parser ended between messages. */
  idle: boolean;
}

function run(chunks: Uint8Array[], limits: ParserLimits = LIMITS): Outcome {
  const p = new RequestParser(limits);
  const messages: Message[] = [];
  let head: RequestHead | null = null;
  let body = "";
  let fed = 0;
  try {
    for (const c of chunks) {
      fed += c.length;
      let off = 0;
      for (;;) {
        const ev = p.next(c, off);
        assert.ok(p.offset >= off && p.offset <= c.length);
        off = p.offset;
        if (ev === "more") {
          assert.equal(off, c.length);
          break;
        }
        if (ev === "head") {
          assert.equal(head, null, "head while a message is open");
          head = p.head!;
          body = "";
        } else if (ev === "data") {
          assert.ok(head !== null && p.data.length > 0);
          body += latin1(p.data);
        } else {
          assert.ok(head !== null);
          messages.push({ head, body, trailers: p.trailers });
          head = null;
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { messages, error: err, fed, idle: false };
  }
  return { messages, error: null, fed, idle: p.idle };
}

function splitEvery(input: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += size) {
    out.push(input.slice(i, i + size));
  }
  return out;
}

/**
 * Parses `input` whole and one byte at a time; both must agree (same
 * messages, same error status and reason). Returns the whole-input outcome.
 */
function parse(input: string | Uint8Array, limits?: ParserLimits): Outcome {
  const buf = typeof input === "string" ? bytes(input) : input;
  const whole = run([buf], limits);
  const single = run(splitEvery(buf, 1), limits);
  assert.deepEqual(single.messages, whole.messages);
  assert.equal(single.error?.status, whole.error?.status);
  assert.equal(single.error?.reason, whole.error?.reason);
  return whole;
}

function one(input: string, limits?: ParserLimits): Message {
  const out = parse(input, limits);
  if (out.error) throw out.error;
  assert.equal(out.messages.length, 1);
  return out.messages[0];
}

function rejects(
  input: string | Uint8Array,
  status: number,
  reason?: string,
  limits?: ParserLimits,
): ParseError {
  const out = parse(input, limits);
  assert.ok(out.error, "expected a ParseError");
  assert.equal(out.error.status, status, out.error.message);
  if (reason !== undefined) assert.equal(out.error.reason, reason);
  return out.error;
}

const GET = (head: string) => `GET / HTTP/1.1\r\nHost: a\r\n${head}\r\n`;
const CHUNKED = (body: string) =>
  `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;

// ---------------------------------------------------------------- basics

Deno.test("parses a simple GET", () => {
  const m = one(
    "GET /users/1?x=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
  );
  assert.deepEqual(m.head, {
    method: "GET",
    target: "/users/1?x=2",
    version: 1,
    headers: ["host", "example.com", "accept", "*/*"],
    host: "example.com",
    contentLength: -1,
    chunked: false,
    keepAlive: true,
    expectContinue: false,
    upgrade: null,
  });
  assert.equal(m.body, "");
  assert.equal(m.trailers, null);
});

Deno.test("parses a POST with a Content-Length body", () => {
  const m = one(
    "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
  );
  assert.equal(m.head.contentLength, 11);
  assert.equal(m.head.chunked, false);
  assert.equal(m.body, "hello world");
});

Deno.test("Content-Length 0 means no body", () => {
  const out = parse(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  assert.equal(out.messages.length, 2);
  assert.equal(out.messages[0].body, "");
  assert.equal(out.messages[1].head.method, "GET");
});

const PIPELINE = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
  "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
  "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "2\r\nde\r\nA;x=y\r\n0123456789\r\n0\r\nT: v\r\n\r\n" +
  "GET /4 HTTP/1.0\r\n\r\n";

Deno.test("parses pipelined requests delivered in one read", () => {
  const out = parse(PIPELINE);
  assert.equal(out.error, null);
  assert.deepEqual(
    out.messages.map((m) => [m.head.target, m.body, m.trailers]),
    [
      ["/1", "", null],
      ["/2", "abc", null],
      ["/3", "de0123456789", ["t", "v"]],
      ["/4", "", null],
    ],
  );
  assert.equal(out.idle, true);
});

Deno.test("parses pipelined requests identically at every split point", () => {
  const buf = bytes(PIPELINE);
  const whole = run([buf]);
  for (let i = 1; i < buf.length; i++) {
    const out = run([buf.subarray(0, i), buf.subarray(i)]);
    assert.deepEqual(out.messages, whole.messages, `split at ${i}`);
  }
  for (const size of [2, 3, 7, 13]) {
    assert.deepEqual(run(splitEvery(buf, size)).messages, whole.messages);
  }
});

Deno.test("body data is a view of the input, not a copy", () => {
  const buf = bytes(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz",
  );
  const p = new RequestParser(LIMITS);
  assert.equal(p.next(buf, 0), "head");
  assert.equal(p.offset, buf.length - 3);
  assert.equal(p.next(buf, p.offset), "data");
  assert.equal(p.data.buffer, buf.buffer);
  assert.equal(p.data.byteOffset, buf.length - 3);
  assert.equal(p.next(buf, p.offset), "end");
  assert.equal(p.next(buf, p.offset), "more");
});

Deno.test("a Content-Length body split across reads yields each part", () => {
  const p = new RequestParser(LIMITS);
  const first = bytes(
    "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
  );
  assert.equal(p.next(first, 0), "head");
  assert.equal(p.next(first, p.offset), "data");
  assert.equal(latin1(p.data), "ab");
  assert.equal(p.next(first, p.offset), "more");
  assert.equal(p.offset, first.length);
  const second = bytes("cdeGET");
  assert.equal(p.next(second, 0), "data");
  assert.equal(latin1(p.data), "cde");
  assert.equal(p.next(second, p.offset), "end");
  assert.equal(p.offset, 3, "the next request starts after the body");
  assert.equal(p.next(second, p.offset), "more");
  assert.equal(p.idle, false, "the next head has begun");
});

Deno.test("idle, finish() and the failed state", () => {
  const p = new RequestParser(LIMITS);
  assert.equal(p.idle, true);
  p.finish();
  p.next(bytes("\r\n"), 0);
  assert.equal(p.idle, true, "leading empty lines keep the parser idle");
  p.next(bytes("GE"), 0);
  assert.equal(p.idle, false);
  assert.throws(() => p.finish(), (e: ParseError) => e.status === 400);

  const q = new RequestParser(LIMITS);
  q.next(
    bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc"),
    0,
  );
  assert.throws(
    () => q.finish(),
    (e: ParseError) => e.reason === "body_incomplete",
  );

  const r = new RequestParser(LIMITS);
  let first: unknown;
  try {
    r.next(bytes("GET / HTTP/9.9\r\n"), 0);
  } catch (err) {
    first = err;
  }
  assert.ok(first instanceof ParseError && first.status === 505);
  assert.throws(
    () => r.next(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0),
    (e) => e === first,
  );
});

Deno.test("constructor refuses invalid limits", () => {
  assert.throws(() => new RequestParser({ ...LIMITS, urlBytes: 0 }), TypeError);
  assert.throws(
    () => new RequestParser({ ...LIMITS, headerCount: 1.5 }),
    TypeError,
  );
  assert.throws(
    () => new RequestParser({ ...LIMITS, chunkExtensionBytes: -1 }),
    TypeError,
  );
});

// ---------------------------------------------------------- request line

Deno.test("every target form", () => {
  assert.equal(
    one("GET /a/b?c=d&e HTTP/1.1\r\nHost: a\r\n\r\n").head.target,
    "/a/b?c=d&e",
  );
  const abs = one(
    "GET http://Example.com:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
  ).head;
  assert.equal(abs.target, "/p?q=1");
  assert.equal(abs.host, "Example.com:8080", "absolute-form overrides Host");
  assert.equal(
    one("GET HTTPS://a HTTP/1.1\r\nHost: a\r\n\r\n").head.target,
    "/",
  );
  assert.equal(
    one("GET http://a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").head.target,
    "/?x=1",
  );
  assert.equal(
    one("OPTIONS http://a:1 HTTP/1.1\r\nHost: a\r\n\r\n").head.target,
    "*",
  );
  assert.equal(one("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").head.target, "*");
  const connect = one(
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  ).head;
  assert.equal(connect.target, "example.com:443");
  assert.equal(connect.method, "CONNECT");
});

Deno.test("refuses misplaced or malformed target forms", () => {
  rejects("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_host");
  rejects("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_host");
});

Deno.test("refuses fragments and bad bytes in the target", () => {
  rejects("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
});

Deno.test("HTTP versions: 1.0, 1.1, later 1.x as 1.1, others 505", () => {
  const v10 = one("GET / HTTP/1.0\r\n\r\n").head;
  assert.equal(v10.version, 0);
  assert.equal(v10.keepAlive, false);
  assert.equal(v10.host, "");
  assert.equal(one("GET / HTTP/1.1\r\nHost: a\r\n\r\n").head.version, 1);
  assert.equal(one("GET / HTTP/1.2\r\nHost: a\r\n\r\n").head.version, 1);
  assert.equal(one("GET / HTTP/1.9\r\nHost: a\r\n\r\n").head.keepAlive, true);
  rejects("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_version");
  rejects("GET / HTTP/0.9\r\n\r\n", 505, "unsupported_version");
  rejects("GET / HTTP/3.0\n\n", 505);
});

Deno.test("malformed versions are 400", () => {
  for (
    const v of [
      "HTTP/1",
      "http/1.1",
      "HTTP/1.1 ",
      "HTTP/10.1",
      "HTTP/1.x",
      "HTTP 1.1",
      "HTTPS/1.1",
      "HTTP/2",
    ]
  ) {
    rejects(`GET / ${v}\r\nHost: a\r\n\r\n`, 400);
  }
  rejects("GET /\r\nHost: a\r\n\r\n", 400);
});

Deno.test("exactly one SP between request-line parts", () => {
  rejects("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
});

Deno.test("methods are tokens, case-sensitive, bounded", () => {
  assert.equal(one("get / HTTP/1.1\r\nHost: a\r\n\r\n").head.method, "get");
  assert.equal(
    one("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n").head.method,
    "PROPFIND",
  );
  rejects("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("G\xc9T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  const long = "X".repeat(33);
  rejects(`${long} / HTTP/1.1\r\nHost: a\r\n\r\n`, 501);
  assert.equal(
    one(`${long} / HTTP/1.1\r\nHost: a\r\n\r\n`, { ...LIMITS, methodBytes: 33 })
      .head.method,
    long,
  );
});

Deno.test("one leading empty line is skipped, a second is 400 (RFC 9112 §2.2)", () => {
  assert.equal(one("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").head.target, "/");
  assert.equal(one("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").head.target, "/");
  rejects("\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  const ok = "\r\n".repeat(MAX_LEADING_EMPTY_LINES) + GET("");
  assert.equal(parse(ok).error, null);
  rejects("\r\n".repeat(MAX_LEADING_EMPTY_LINES + 1) + GET(""), 400);
  rejects("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  // A legacy client's CRLF after a POST body does not break the next request.
  const out = parse(
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\r\n" + GET(""),
  );
  assert.equal(out.messages.length, 2);
});

Deno.test("bare LF line endings are accepted in a head that uses them throughout", () => {
  const m = one("GET / HTTP/1.1\nHost: a\nX: 1\n\n");
  assert.deepEqual(m.head.headers, ["host", "a", "x", "1"]);
});

Deno.test("a bare LF mixed into a CRLF head is 400 (llhttp: missing CR between headers)", () => {
  rejects("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
  rejects("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
  // The shape that hides a second request behind a proxy that splits on LF.
  rejects(
    "GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 23\r\n\r\n" +
      "GET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
  );
  // The same byte by byte (the slow path).
  const out = run(
    splitEvery(bytes("GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nX: 1\r\n\r\n"), 1),
    LIMITS,
  );
  assert.equal(out.error?.status, 400);
});

Deno.test("bare CR in the head is 400", () => {
  rejects("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400);
  rejects("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\r\n\r\n", 400);
});

Deno.test("414 when the target passes urlBytes, without buffering past it", () => {
  const limits = { ...LIMITS, urlBytes: 64 };
  one(`GET /${"a".repeat(63)} HTTP/1.1\r\nHost: a\r\n\r\n`, limits);
  rejects(
    `GET /${"a".repeat(64)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    414,
    "url_too_long",
    limits,
  );
  // One byte at a time, with no line end ever: refused at the byte that
  // makes the target 65 bytes long, not later.
  const endless = bytes("GET /" + "a".repeat(10_000));
  const out = run(splitEvery(endless, 1), limits);
  assert.equal(out.error?.status, 414);
  assert.equal(out.fed, 4 + 65);
  // The same in one large read.
  assert.equal(run([endless], limits).error?.status, 414);
  // An absolute-form target counts whole.
  rejects(
    `GET http://a/${"b".repeat(60)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    414,
    undefined,
    limits,
  );
});

// ---------------------------------------------------------------- fields

Deno.test("field names are lower-cased, values trimmed, duplicates kept", () => {
  const m = one(
    GET(
      "X-Multi: 1\r\nx-multi: 2\r\nContent-Type:  \t text/plain \t \r\nEmpty:\r\n",
    ),
  );
  assert.deepEqual(m.head.headers, [
    "host",
    "a",
    "x-multi",
    "1",
    "x-multi",
    "2",
    "content-type",
    "text/plain",
    "empty",
    "",
  ]);
  const inner = one(GET("X: a \t b\r\n"));
  assert.equal(inner.head.headers[3], "a \t b", "inner whitespace is kept");
});

Deno.test("obs-text in values is decoded as latin1", () => {
  const m = one(GET("X: caf\xe9 \xff\r\n"));
  assert.equal(m.head.headers[3], "caf\xe9 \xff");
  assert.doesNotThrow(() => new Headers([["x", m.head.headers[3]]]));
});

Deno.test("whitespace before the colon is 400", () => {
  rejects(GET("X : 1\r\n"), 400);
  rejects(GET("X\t: 1\r\n"), 400);
  rejects("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
});

Deno.test("obs-fold and whitespace before the first field are 400", () => {
  rejects(GET("X: 1\r\n  continued\r\n"), 400);
  rejects(GET("X: 1\r\n\tcontinued\r\n"), 400);
  rejects("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
});

Deno.test("NUL, CR, LF and other controls in values are 400", () => {
  rejects(GET("X: a\x00b\r\n"), 400);
  rejects(GET("X: a\rb\r\n"), 400);
  rejects(GET("X: a\x01b\r\n"), 400);
  rejects(GET("X: a\x7fb\r\n"), 400);
  rejects(GET("X: \x1b[31m\r\n"), 400);
});

Deno.test("malformed field lines are 400", () => {
  rejects(GET("NoColon\r\n"), 400);
  rejects(GET(": empty-name\r\n"), 400);
  rejects(GET("Bad(Name): x\r\n"), 400);
  rejects(GET("Bad\xe9: x\r\n"), 400);
});

Deno.test("431 beyond headerCount, refused at the extra field's first byte", () => {
  const limits = { ...LIMITS, headerCount: 5 };
  const fields = (n: number) =>
    "GET / HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(n - 1) + "\r\n";
  one(fields(5), limits);
  rejects(fields(6), 431, "too_many_headers", limits);
  const prefix = "GET / HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(4);
  const out = run(splitEvery(bytes(prefix + "Y".repeat(1000)), 1), limits);
  assert.equal(out.error?.status, 431);
  assert.equal(out.fed, prefix.length + 1);
});

Deno.test("431 beyond headerBytes, without buffering past it", () => {
  const limits = { ...LIMITS, headerBytes: 100 };
  // Names plus values: "Host: a" counts 5 bytes, "X: " + value 1 + n.
  one(GET(`X: ${"v".repeat(94)}\r\n`), limits);
  one(GET(`X:   ${"v".repeat(94)}   \r\n`), limits); // whitespace is free
  rejects(GET(`X: ${"v".repeat(95)}\r\n`), 431, "headers_too_large", limits);
  rejects(
    GET(`X: ${"v".repeat(50)}\r\nY: ${"v".repeat(50)}\r\n`),
    431,
    undefined,
    limits,
  );
  const endless = bytes(
    "GET / HTTP/1.1\r\nHost: a\r\nX: " + "v".repeat(10_000),
  );
  const out = run(splitEvery(endless, 1), limits);
  assert.equal(out.error?.status, 431);
  assert.ok(
    out.fed <= 16 + 9 + 100 + MAX_SEPARATOR_BYTES + 2,
    `fed ${out.fed} bytes`,
  );
  assert.equal(run([endless], limits).error?.status, 431);
});

// ---------------------------------------------------------------- Host

Deno.test("Host: required once on HTTP/1.1, optional on HTTP/1.0", () => {
  rejects("GET / HTTP/1.1\r\n\r\n", 400, "bad_host");
  rejects("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "bad_host");
  rejects("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_host");
  assert.equal(one("GET / HTTP/1.0\r\n\r\n").head.host, "");
  assert.equal(one("GET / HTTP/1.0\r\nHost: b\r\n\r\n").head.host, "b");
});

Deno.test("Host: valid uri-host[:port] values", () => {
  for (
    const h of [
      "example.com",
      "example.com:8080",
      "127.0.0.1:80",
      "[::1]:8080",
      "[::1]",
      "[2001:db8::7]",
      "xn--bcher-kva.example",
      "a%41b",
      "example.com:",
      "a_b~c",
    ]
  ) {
    assert.equal(one(`GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`).head.host, h);
  }
});

Deno.test("Host: userinfo, slash, whitespace and bad ports are 400", () => {
  for (
    const h of [
      "a@b",
      "user:pw@b",
      "a/b",
      "a b",
      "a\tb",
      "[::1",
      "[::1]x",
      "[zz::1]",
      "a:b",
      "a:65536",
      "a:123456",
      ":80",
      "%4",
      "a%zz",
      "[v1.x]",
      "a]",
    ]
  ) {
    rejects(`GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`, 400, "bad_host");
  }
});

Deno.test("Host: empty value is 400 on HTTP/1.1 with origin-form", () => {
  rejects("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "bad_host");
  rejects("GET / HTTP/1.1\r\nHost:  \r\n\r\n", 400, "bad_host");
  assert.equal(one("GET / HTTP/1.0\r\nHost:\r\n\r\n").head.host, "");
  assert.equal(one("GET http://x/ HTTP/1.1\r\nHost:\r\n\r\n").head.host, "x");
  rejects("GET http://x/ HTTP/1.1\r\nHost: a@b\r\n\r\n", 400, "bad_host");
  rejects("GET http://x/ HTTP/1.1\r\n\r\n", 400, "bad_host");
});

// ------------------------------------------------- connection options

Deno.test("keep-alive follows the version and Connection", () => {
  assert.equal(one(GET("Connection: close\r\n")).head.keepAlive, false);
  assert.equal(
    one(GET("Connection: Keep-Alive, CLOSE\r\n")).head.keepAlive,
    false,
  );
  assert.equal(
    one("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keepAlive,
    true,
  );
  assert.equal(
    one("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keepAlive,
    true,
  );
  assert.equal(
    one("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").head
      .keepAlive,
    false,
  );
});

Deno.test("Expect: 100-continue on HTTP/1.1 only", () => {
  assert.equal(one(GET("Expect: 100-continue\r\n")).head.expectContinue, true);
  assert.equal(one(GET("Expect: 100-Continue\r\n")).head.expectContinue, true);
  assert.equal(one(GET("Expect: something\r\n")).head.expectContinue, false);
  assert.equal(
    one("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").head.expectContinue,
    false,
  );
});

Deno.test("Upgrade needs Connection: upgrade on HTTP/1.1", () => {
  assert.equal(
    one(GET("Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n")).head
      .upgrade,
    "websocket",
  );
  assert.equal(one(GET("Upgrade: websocket\r\n")).head.upgrade, null);
  assert.equal(
    one("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
      .head.upgrade,
    null,
  );
});

// ------------------------------------------------------------- framing

const POST = (fields: string, body = "") =>
  `POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\n${body}`;

Deno.test("CL.TE and TE.CL are 400", () => {
  rejects(
    POST("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nX"),
    400,
  );
  rejects(
    POST("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n", "0\r\n\r\nX"),
    400,
  );
  rejects(POST("Transfer-Encoding: gzip\r\nContent-Length: 6\r\n"), 400);
});

Deno.test("Transfer-Encoding variants", () => {
  const te = (v: string) => POST(`Transfer-Encoding: ${v}\r\n`, "0\r\n\r\n");
  for (
    const ok of [
      "chunked",
      "Chunked",
      "CHUNKED",
      " chunked",
      "chunked\t",
      "chunked,",
      ", chunked",
    ]
  ) {
    assert.equal(one(te(ok)).head.chunked, true, ok);
  }
  rejects(te("chunked, chunked"), 400);
  rejects(te("gzip, chunked"), 501, "unsupported_transfer_encoding");
  rejects(te("chunked, gzip"), 400);
  rejects(te("xchunked"), 501);
  rejects(te("gzip"), 501);
  rejects(te("deflate, chunked"), 501);
  rejects(te("compress, chunked"), 501);
  rejects(te("identity"), 501);
  rejects(te("identity, chunked"), 501);
  rejects(te("chunked;"), 400);
  rejects(te("chunked;q=1"), 400);
  rejects(te('"chunked"'), 400);
  rejects(te("chunked chunked"), 400);
  rejects(te(""), 400);
  rejects(te(","), 400);
});

Deno.test("repeated Transfer-Encoding lines combine", () => {
  const two = (a: string, b: string) =>
    POST(`Transfer-Encoding: ${a}\r\nTransfer-Encoding: ${b}\r\n`, "0\r\n\r\n");
  rejects(two("chunked", "chunked"), 400);
  rejects(two("gzip", "chunked"), 501);
  rejects(two("chunked", "gzip"), 400);
});

Deno.test("Transfer-Encoding on HTTP/1.0 is 400", () => {
  rejects(
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  );
});

Deno.test("Content-Length variants", () => {
  const cl = (...v: string[]) =>
    POST(v.map((x) => `Content-Length: ${x}\r\n`).join(""), "hello");
  assert.equal(one(cl("5")).body, "hello");
  assert.equal(one(cl(" 5")).body, "hello");
  assert.equal(one(cl("5", "5")).body, "hello");
  assert.equal(one(cl("005")).body, "hello");
  for (
    const bad of [
      ["+5"],
      ["-1"],
      ["5,5"],
      ["5, 6"],
      ["5 5"],
      [""],
      ["0x5"],
      ["1e3"],
      ["5", "6"],
      ["5", "05"],
      ["99999999999999999999"],
      ["1234567890123456"],
    ]
  ) {
    rejects(cl(...bad), 400);
  }
  const p = new RequestParser(LIMITS);
  assert.equal(
    p.next(bytes(POST("Content-Length: 999999999999999\r\n")), 0),
    "head",
  );
  assert.equal(p.head!.contentLength, 999999999999999);
});

Deno.test("chunked bodies: sizes in any hex case, leading zeros", () => {
  const m = one(
    CHUNKED(
      "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0000000000000002\r\nxy\r\n0\r\n\r\n",
    ),
  );
  assert.equal(m.body, "0123456789abcdefghijkxy");
  assert.equal(m.trailers, null);
  assert.equal(m.head.contentLength, -1);
});

Deno.test("chunked bodies: valid extensions are skipped", () => {
  const m = one(
    CHUNKED(
      '1;a\r\nx\r\n1;a=b;c="d \\" e"\r\ny\r\n1 ; a = b ;c\r\nz\r\n0;last=1\r\n\r\n',
    ),
  );
  assert.equal(m.body, "xyz");
});

Deno.test("chunked bodies: malformed extensions are 400", () => {
  for (
    const ext of [
      ";",
      ";=b",
      ";a=",
      ';"x"',
      "; a b",
      ";a=b c",
      ";a=\x01",
      ';a="x',
      " ",
      "; a ",
      ";a\x00",
    ]
  ) {
    rejects(CHUNKED(`1${ext}\r\nx\r\n0\r\n\r\n`), 400);
  }
});

Deno.test("chunked bodies: extensions bounded per body", () => {
  const ext = (n: number) => ";" + "e".repeat(n - 1);
  one(CHUNKED(`1${ext(4096)}\r\nx\r\n0\r\n\r\n`));
  rejects(CHUNKED(`1${ext(4097)}\r\nx\r\n0\r\n\r\n`), 413, "body_too_large");
  rejects(
    CHUNKED(`1${ext(3000)}\r\nx\r\n1${ext(1500)}\r\ny\r\n0\r\n\r\n`),
    413,
  );
  rejects(CHUNKED(`1${ext(100)}\r\nx\r\n0\r\n\r\n`), 413, undefined, {
    ...LIMITS,
    chunkExtensionBytes: 64,
  });
});

Deno.test("chunked bodies: data must be followed by CRLF", () => {
  rejects(CHUNKED("3\r\nabcX\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("3\r\nabc\n0\r\n\r\n"), 400);
  rejects(CHUNKED("3\r\nabc\r0\r\n\r\n"), 400);
  rejects(CHUNKED("3\r\nabcd\r\n0\r\n\r\n"), 400);
});

Deno.test("chunked bodies: size lines need CRLF and hex", () => {
  rejects(CHUNKED("3\nabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("3\rabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("\r\nabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("g\r\n"), 400);
  rejects(CHUNKED(" 3\r\nabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("-3\r\nabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("0x3\r\nabc\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("0\r\n\n"), 400, undefined);
});

Deno.test("chunked bodies: size overflow is 400", () => {
  rejects(CHUNKED("FFFFFFFFFFFFFFFFF\r\n"), 400);
  rejects(CHUNKED("00000000000000001\r\nx\r\n0\r\n\r\n"), 400);
  rejects(CHUNKED("20000000000000\r\n"), 400);
  // 2^53 - 1 is accepted as a size (the App's bodyBytes limit applies).
  const p = new RequestParser(LIMITS);
  p.next(bytes(CHUNKED("1FFFFFFFFFFFFF\r\nabc")), 0);
  assert.equal(
    p.next(bytes(CHUNKED("1FFFFFFFFFFFFF\r\nabc")), p.offset),
    "data",
  );
});

Deno.test("chunked bodies: trailers are parsed and returned", () => {
  const m = one(CHUNKED("1\r\nx\r\n0\r\nX-Sum: abc\r\nOther:  v \r\n\r\n"));
  assert.deepEqual(m.trailers, ["x-sum", "abc", "other", "v"]);
  assert.deepEqual(
    m.head.headers.includes("x-sum"),
    false,
    "not merged into the head",
  );
});

Deno.test("chunked bodies: trailers are held to the header limits", () => {
  const limits = { ...LIMITS, headerCount: 3, headerBytes: 64 };
  one(CHUNKED("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), limits);
  rejects(
    CHUNKED("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
    431,
    "too_many_headers",
    limits,
  );
  one(CHUNKED(`0\r\nA: ${"x".repeat(63)}\r\n\r\n`), limits);
  rejects(
    CHUNKED(`0\r\nA: ${"x".repeat(64)}\r\n\r\n`),
    431,
    "headers_too_large",
    limits,
  );
  const out = run(
    splitEvery(bytes(CHUNKED(`0\r\nA: ${"x".repeat(10_000)}`)), 1),
    limits,
  );
  assert.equal(out.error?.status, 431);
});

Deno.test("chunked bodies: trailers follow the field rules and need CRLF", () => {
  rejects(CHUNKED("0\r\nA: 1\r\n folded\r\n\r\n"), 400);
  rejects(CHUNKED("0\r\nA : 1\r\n\r\n"), 400);
  rejects(CHUNKED("0\r\nA: \x001\r\n\r\n"), 400);
  rejects(CHUNKED("0\r\nA: 1\n\r\n"), 400);
  rejects(CHUNKED("0\r\nA: 1\r\n\n"), 400);
});

Deno.test("requests after a rejected one are never parsed", () => {
  const out = parse(
    POST("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n") +
      GET(""),
  );
  assert.equal(out.messages.length, 0);
  assert.equal(out.error?.status, 400);
});

Deno.test("a valid head after an incomplete one waits for more bytes", () => {
  const out = run([bytes("GET / HTTP/1.1\r\nHost: a\r\n")]);
  assert.equal(out.error, null);
  assert.equal(out.messages.length, 0);
  assert.equal(out.idle, false);
});

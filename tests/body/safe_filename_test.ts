import assert from "node:assert/strict";
import fc from "npm:fast-check@4";
import { safeFilename } from "../../src/body/safe_filename.ts";

const enc = new TextEncoder();

Deno.test("safeFilename strips directories, controls, leading dots and device names", () => {
  const cases: [string, string][] = [
    ["report.pdf", "report.pdf"],
    ["../../etc/passwd", "passwd"],
    ["..\\..\\windows\\system32\\cmd.exe", "cmd.exe"],
    ["C:\\Users\\me\\.ssh\\id_rsa", "id_rsa"],
    [".htaccess", "htaccess"],
    ["...", "file"],
    ["", "file"],
    ["/", "file"],
    ["a/b/", "file"],
    ["  spaced  ", "spaced"],
    ["trailing.dot.", "trailing.dot"],
    ["new\nline\r.txt", "newline.txt"],
    ["nul\0byte.txt", "nulbyte.txt"],
    ["evil\u202Etxt.exe", "eviltxt.exe"],
    ["zero\u200Bwidth.txt", "zerowidth.txt"],
    ['a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"],
    ["CON", "_CON"],
    ["con.txt", "_con.txt"],
    ["Com1.tar.gz", "_Com1.tar.gz"],
    ["lpt9", "_lpt9"],
    ["console.txt", "console.txt"],
    ["cafe\u0301.txt", "caf\u00e9.txt"], // NFC
    ["\ud800lone.txt", "\ufffdlone.txt"],
  ];
  for (const [input, want] of cases) {
    assert.equal(safeFilename(input), want, JSON.stringify(input));
  }
  const long = safeFilename("a".repeat(300) + ".jpeg");
  assert.equal(long, "a".repeat(250) + ".jpeg");
  const wide = safeFilename("\u6f22".repeat(100) + ".txt"); // 3 bytes each
  assert.equal(enc.encode(wide).length <= 255, true);
  assert.ok(wide.endsWith(".txt"));
  assert.equal(safeFilename("x".repeat(400)).length, 255);
});

Deno.test("property: safeFilename always returns a short, plain, non-empty name", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (name) => {
      const safe = safeFilename(name);
      assert.ok(safe.length > 0);
      assert.ok(enc.encode(safe).length <= 255);
      // deno-lint-ignore no-control-regex
      assert.ok(!/[/\\\0-\x1f<>:"|?*]/.test(safe), JSON.stringify(safe));
      assert.ok(
        !safe.startsWith(".") && !safe.endsWith(".") && !safe.endsWith(" "),
      );
      assert.notEqual(safe, "..");
      assert.equal(safeFilename(safe), safe, "idempotent");
    }),
    { numRuns: 2000 },
  );
});

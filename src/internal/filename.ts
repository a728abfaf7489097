/**
 * File-name facts shared by the static file server and upload handling.
 *
 * @module
 */

// CON, PRN, AUX, NUL, COM0-9, LPT0-9 (also with superscript digits) and the
// console names: Windows maps them to devices in every directory, with any
// extension and trailing spaces ("con .txt").
const DEVICE =
  /^(?:CON|PRN|AUX|NUL|COM[0-9\u00b9\u00b2\u00b3]|LPT[0-9\u00b9\u00b2\u00b3]|CONIN\$|CONOUT\$)$/i;

/**
 * True for a Windows reserved device name, with or without extension and
 * case-insensitively (`CON`, `nul.txt`, `Com1.tar.gz`, `lpt9 .log`).
 *
 * @example Usage
 * ```ts
 * import { isDeviceName } from "./filename.ts";
 * isDeviceName("aux.js"); // true
 * isDeviceName("console.txt"); // false
 * ```
 */
export function isDeviceName(name: string): boolean {
  const dot = name.indexOf(".");
  const stem = (dot === -1 ? name : name.slice(0, dot)).trimEnd();
  return stem.length >= 3 && stem.length <= 7 && DEVICE.test(stem);
}

/**
 * Merging Prometheus text expositions (format 0.0.4) of several workers into
 * one: samples with the same name and label set are summed (counters,
 * gauges, histogram buckets, `_sum` and `_count` are all additive), each
 * family keeps the `# HELP` and `# TYPE` lines it was first seen with, and
 * families and series appear in the order they were first seen. Label sets
 * are compared by their parsed values, so the order of labels and the way a
 * value was escaped do not matter. Lines that are not valid samples and
 * comments other than HELP and TYPE are dropped.
 *
 * @module
 */

import { formatNumber } from "./exposition.ts";

/** One family: its header lines and its series, keyed by label set. */
interface Family {
  help: string | undefined;
  type: string | undefined;
  /** key → series, in first-seen order. */
  readonly series: Map<string, Series>;
}

/** One sample line being summed. */
interface Series {
  /** `name{labels}` as first seen. */
  readonly head: string;
  value: number;
  /** Milliseconds since the epoch, the latest seen; undefined for none. */
  timestamp: number | undefined;
}

/** Suffixes of the sample names of a histogram or summary family. */
const SUFFIXES = ["_bucket", "_sum", "_count"];

/** Returns one exposition summing every sample of `texts`. */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  for (const text of texts) {
    let current: string | undefined;
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) {
        const header = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/
          .exec(line);
        if (header === null) continue;
        const [, kind, name, rest = ""] = header;
        const family = familyOf(families, name);
        if (kind === "HELP") family.help ??= rest;
        else family.type ??= rest;
        current = name;
        continue;
      }
      const sample = parseSample(line);
      if (sample === null) continue;
      const owner = current !== undefined && belongsTo(sample.name, current)
        ? current
        : sample.name;
      const series = familyOf(families, owner).series;
      const found = series.get(sample.key);
      if (found === undefined) {
        series.set(sample.key, {
          head: sample.head,
          value: sample.value,
          timestamp: sample.timestamp,
        });
      } else {
        found.value += sample.value;
        if (
          sample.timestamp !== undefined &&
          !(found.timestamp !== undefined &&
            found.timestamp >= sample.timestamp)
        ) {
          found.timestamp = sample.timestamp;
        }
      }
    }
  }
  const out: string[] = [];
  for (const [name, family] of families) {
    if (family.help !== undefined) out.push(`# HELP ${name} ${family.help}`);
    if (family.type !== undefined) out.push(`# TYPE ${name} ${family.type}`);
    for (const s of family.series.values()) {
      out.push(
        `${s.head} ${formatNumber(s.value)}${
          s.timestamp === undefined ? "" : ` ${s.timestamp}`
        }`,
      );
    }
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

function familyOf(families: Map<string, Family>, name: string): Family {
  let family = families.get(name);
  if (family === undefined) {
    family = { help: undefined, type: undefined, series: new Map() };
    families.set(name, family);
  }
  return family;
}

function belongsTo(sample: string, family: string): boolean {
  if (sample === family) return true;
  if (!sample.startsWith(family)) return false;
  return SUFFIXES.includes(sample.slice(family.length));
}

/** A parsed sample line. */
interface Sample {
  name: string;
  /** `name{labels}` as written. */
  head: string;
  /** The name and the label pairs sorted by label name, unescaped, as JSON. */
  key: string;
  value: number;
  timestamp: number | undefined;
}

/** Parses `name{a="x",b="y"} value [timestamp]`; null when malformed. */
function parseSample(line: string): Sample | null {
  const nameEnd = scanName(line, 0);
  if (nameEnd === 0) return null;
  const name = line.slice(0, nameEnd);
  const pairs: [string, string][] = [];
  let i = nameEnd;
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const labelEnd = scanName(line, i);
      if (labelEnd === i || line[labelEnd] !== "=") return null;
      if (line[labelEnd + 1] !== '"') return null;
      let value = "";
      let j = labelEnd + 2;
      for (;; j++) {
        const c = line[j];
        if (c === undefined) return null;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[++j];
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else return null;
        } else {
          value += c;
        }
      }
      pairs.push([line.slice(i, labelEnd), value]);
      i = j + 1;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") return null;
    }
    i++;
  }
  if (line[i] !== " ") return null;
  const head = line.slice(0, i);
  const fields = line.slice(i).trim().split(/\s+/);
  if (fields.length > 2) return null;
  const value = parseValue(fields[0]);
  if (value === null) return null;
  let timestamp: number | undefined;
  if (fields.length === 2) {
    timestamp = Number(fields[1]);
    if (!Number.isInteger(timestamp)) return null;
  }
  pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return { name, head, key: JSON.stringify([name, pairs]), value, timestamp };
}

/** The end of a metric or label name starting at `start` (`start` if none). */
function scanName(line: string, start: number): number {
  let i = start;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ||
      c === 0x5f || c === 0x3a;
    if (!letter && !(i > start && c >= 0x30 && c <= 0x39)) break;
  }
  return i;
}

function parseValue(raw: string): number | null {
  if (raw === "+Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return NaN;
  const n = Number(raw);
  return raw === "" || Number.isNaN(n) ? null : n;
}

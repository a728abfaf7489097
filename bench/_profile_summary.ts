/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the top frames
 * by self time and by total (inclusive) time, as a markdown table.
 *
 * Usage:
 *   deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/servers/palisade_deno.ts --port=8000
 *   (load it with wrk, stop it with SIGTERM)
 *   deno run --allow-read bench/_profile_summary.ts /tmp/prof/CPU.*.cpuprofile [--top=25]
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row of the summary. */
export interface FrameTime {
  /** `function (file:line)`. */
  frame: string;
  /** Self time in ms. */
  selfMs: number;
  /** Inclusive time in ms (each frame counted once per sample). */
  totalMs: number;
}

function frameKey(cf: CallFrame): string {
  const name = cf.functionName || "(anonymous)";
  if (!cf.url) return name;
  const file = cf.url.replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")
    .replace(/^ext:/, "ext:");
  return `${name} (${file}:${cf.lineNumber + 1})`;
}

/**
 * Computes self and total time per frame of a profile, sorted by self time.
 *
 * @example Usage
 * ```ts
 * import { summarizeProfile } from "./_profile_summary.ts";
 * const rows = summarizeProfile(JSON.parse(Deno.readTextFileSync("p.cpuprofile")));
 * ```
 */
export function summarizeProfile(profile: CpuProfile): {
  rows: FrameTime[];
  totalMs: number;
} {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    all += dt;
    let id: number | undefined = profile.samples[i];
    const key = frameKey(byId.get(id)!.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    while (id !== undefined) {
      const k = frameKey(byId.get(id)!.callFrame);
      if (!seen.has(k)) {
        seen.add(k);
        total.set(k, (total.get(k) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const rows = [...self.entries()].map(([frame, selfMs]) => ({
    frame,
    selfMs,
    totalMs: total.get(frame) ?? selfMs,
  })).sort((a, b) => b.selfMs - a.selfMs);
  return { rows, totalMs: all };
}

if (import.meta.main) {
  const file = Deno.args.find((a) => !a.startsWith("--"));
  if (!file) {
    console.error("usage: _profile_summary.ts FILE.cpuprofile [--top=25]");
    Deno.exit(2);
  }
  const top = Number(
    Deno.args.find((a) => a.startsWith("--top="))?.slice(6) ?? 25,
  );
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const { rows, totalMs } = summarizeProfile(profile);
  // "(idle)" is time outside JS: waiting, and Deno's own Rust HTTP work on
  // the main thread. Percentages are of the remaining (busy JS) time.
  const idleMs = rows.find((r) => r.frame === "(idle)")?.selfMs ?? 0;
  const busyMs = totalMs - idleMs;
  const pct = (ms: number) => `${(ms / busyMs * 100).toFixed(1)}%`;
  console.log(
    `Profile: ${totalMs.toFixed(0)} ms sampled, ${
      idleMs.toFixed(0)
    } ms (idle) left out; percentages of the ${busyMs.toFixed(0)} ms busy\n`,
  );
  console.log("| self | total | frame |");
  console.log("| --- | --- | --- |");
  for (const r of rows.filter((r) => r.frame !== "(idle)").slice(0, top)) {
    console.log(`| ${pct(r.selfMs)} | ${pct(r.totalMs)} | ${r.frame} |`);
  }
  const app = [...rows].filter((r) => /src\//.test(r.frame))
    .sort((a, b) => b.totalMs - a.totalMs).slice(0, 12);
  console.log("\nPalisade frames by total time:\n");
  console.log("| total | self | frame |");
  console.log("| --- | --- | --- |");
  for (const r of app) {
    console.log(`| ${pct(r.totalMs)} | ${pct(r.selfMs)} | ${r.frame} |`);
  }
}

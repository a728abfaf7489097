/**
 * Markdown tables of the load harness (`bench/load.ts`): per-scenario tables,
 * the CPU-per-request summary matrix, the performance budget checks of
 * `DESIGN.md`, and the run-to-run stability matrix.
 *
 * CPU ratios pair rounds: round k of a server is divided by round k of the
 * scenario's reference (raw), which ran next to it in time, and the median of
 * those ratios is reported. Drift on a shared machine then cancels within a
 * round instead of skewing a ratio of two medians taken minutes apart.
 *
 * @module
 */

import { DISTURBED, type LoadResult } from "./_load_tools.ts";

/** What the report needs to know of a scenario. */
export interface ScenarioInfo {
  name: string;
  /** One-line description. */
  title: string;
  /** The load tool's command line, for the table caption. */
  load: string;
  /**
   * The row CPU ratios divide by; `"raw"` unless raw does more work than
   * `() => new Response("ok")` in this scenario and the budget is written
   * against that (param: `"raw-ok"`).
   */
  reference: string;
  /** Whether the hello/param budgets of `DESIGN.md` apply. */
  budget: boolean;
  notes?: string[];
}

/** Everything measured for one server in one scenario; index = round - 1. */
export interface Row {
  name: string;
  skipped: string | null;
  rounds: (LoadResult | undefined)[];
  cpuUsPerReq: (number | undefined)[];
  /** The server's CPU time over the round's wall time (1 = all of a core). */
  serverShare: (number | undefined)[];
  /** Other processes' time on the server's core over the round's wall time. */
  othersShare: (number | undefined)[];
  /** Hypervisor steal on the server's core over the round's wall time. */
  stealShare: (number | undefined)[];
  peakRssKiB: number;
  failed: string | null;
}

/** One scenario's rows in one run. */
export type ScenarioResult = [ScenarioInfo, Row[]];

/** Median of the finite numbers in `xs`; NaN when there are none. */
export function median(xs: readonly (number | undefined)[]): number {
  const s = xs.filter((x): x is number => Number.isFinite(x)).sort((a, b) =>
    a - b
  );
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Whether `row` ran and measured at least one round. */
function done(row: Row | undefined): boolean {
  return row !== undefined && row.skipped === null &&
    row.rounds.some((r) => r !== undefined);
}

/** Median over rounds of row's CPU/req ÷ base's CPU/req in the same round. */
export function cpuRatio(row: Row | undefined, base: Row | undefined): number {
  if (row === undefined || base === undefined || !done(row) || !done(base)) {
    return NaN;
  }
  return median(
    row.cpuUsPerReq.map((c, i) => {
      const b = base.cpuUsPerReq[i];
      return c === undefined || b === undefined || b === 0 ? NaN : c / b;
    }),
  );
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function times(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : "–";
}

function ratioOf(x: number, base: number): string {
  return base === 0 ? "–" : times(x / base);
}

/** Makes `text` safe for one markdown table cell. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replaceAll("|", "/").slice(0, 200);
}

interface Summary {
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p99: number;
  cpu: number;
  rssMiB: number;
  non2xx: number;
  errors: number;
  core: string;
}

function summarize(row: Row): Summary {
  const rounds = row.rounds.filter((r): r is LoadResult => r !== undefined);
  const rps = rounds.map((r) => r.rps);
  return {
    rps: median(rps),
    rpsMin: rps.length ? Math.min(...rps) : NaN,
    rpsMax: rps.length ? Math.max(...rps) : NaN,
    p99: median(rounds.map((r) => r.p99Ms)),
    cpu: median(row.cpuUsPerReq),
    rssMiB: row.peakRssKiB / 1024,
    non2xx: rounds.reduce((a, r) => a + r.non2xx, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    core: [row.serverShare, row.othersShare, row.stealShare]
      .map((xs) => fmt(median(xs) * 100, 0)).join(" / "),
  };
}

/** A budget of `DESIGN.md`: `server`'s CPU/req ÷ `against`'s at most `max`. */
interface Budget {
  label: string;
  server: string;
  /** A server name, or `"reference"`: the scenario's reference row. */
  against: string;
  max: number;
  /** True: the ratio must stay below `max`, not reach it. */
  strict?: boolean;
}

/** The routed hello/param budgets of the performance issue. */
const BUDGETS: readonly Budget[] = [
  {
    label: "h1 ≤ 1.15× raw",
    server: "palisade-h1",
    against: "reference",
    max: 1.15,
  },
  {
    label: "h1 below Hono",
    server: "palisade-h1",
    against: "hono",
    max: 1,
    strict: true,
  },
  {
    label: "deno ≤ 2.0× raw",
    server: "palisade-deno",
    against: "reference",
    max: 2,
  },
  {
    label: "deno ≤ ½ Hono+protections",
    server: "palisade-deno",
    against: "hono-protected",
    max: 0.5,
  },
];

interface Verdict {
  budget: Budget;
  against: string;
  ratio: number;
  ok: boolean | null;
  /** Other processes took over DISTURBED of core 0 in a median round of either row. */
  disturbed: boolean;
}

function verdicts(sc: ScenarioInfo, rows: Row[]): Verdict[] {
  if (!sc.budget) return [];
  return BUDGETS.map((budget) => {
    const against = budget.against === "reference"
      ? sc.reference
      : budget.against;
    const pair = [budget.server, against].map((n) =>
      rows.find((r) => r.name === n)
    );
    const ratio = cpuRatio(pair[0], pair[1]);
    const ok = Number.isFinite(ratio)
      ? (budget.strict ? ratio < budget.max : ratio <= budget.max)
      : null;
    const disturbed = pair.some((r) =>
      r !== undefined && median(r.othersShare) > DISTURBED
    );
    return { budget, against, ratio, ok, disturbed };
  });
}

function mark(v: Verdict): string {
  const verdict = v.ok === null ? "not measured" : v.ok ? "pass" : "**FAIL**";
  return v.disturbed ? `${verdict} (disturbed: rerun)` : verdict;
}

/**
 * The table of one scenario: req/s, p99, CPU µs/req, peak RSS, each with its
 * ratio to the reference, and the budget column.
 */
export function scenarioTable(
  sc: ScenarioInfo,
  rows: Row[],
  caption: string,
): string {
  const lines = [
    `### ${sc.name}: ${sc.title}`,
    "",
    `${sc.load}; ${caption}. CPU ×${sc.reference}: median of per-round ratios. Core 0 %: medians over rounds of the server's CPU, other processes' CPU and hypervisor steal on the server's core, per second of load (about 100 when the server is saturated); a row where others took much of the core is suspect.`,
    "",
    `| server | req/s median (min–max) | ×raw | p99 ms | ×raw | CPU µs/req | ×${sc.reference} | core 0 % server / others / steal | peak RSS MiB | ×raw | non-2xx | errors | budget |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const base = rows.find((r) => r.name === "raw");
  const b = base !== undefined && done(base) ? summarize(base) : null;
  const ref = rows.find((r) => r.name === sc.reference);
  const marks = verdicts(sc, rows);
  for (const row of rows) {
    if (row.skipped) {
      lines.push(`| ${row.name} | skipped: ${cell(row.skipped)} ||||||||||||`);
      continue;
    }
    if (!done(row)) {
      lines.push(
        `| ${row.name} | failed: ${
          cell(row.failed ?? "no round")
        } ||||||||||||`,
      );
      continue;
    }
    const s = summarize(row);
    const budget = marks.filter((v) => v.budget.server === row.name)
      .map((v) => `${v.budget.label}: ${times(v.ratio)} ${mark(v)}`)
      .join("; ");
    lines.push(
      `| ${row.name}${row.failed ? " (failed part-way)" : ""} | ${
        fmt(s.rps, 0)
      } (${fmt(s.rpsMin, 0)}–${fmt(s.rpsMax, 0)}) | ${
        ratioOf(s.rps, b?.rps ?? NaN)
      } | ${fmt(s.p99, 2)} | ${ratioOf(s.p99, b?.p99 ?? NaN)} | ${
        fmt(s.cpu, 1)
      } | ${times(cpuRatio(row, ref))} | ${s.core} | ${fmt(s.rssMiB, 1)} | ${
        ratioOf(s.rssMiB, b?.rssMiB ?? NaN)
      } | ${s.non2xx} | ${s.errors} | ${budget} |`,
    );
  }
  for (const note of sc.notes ?? []) lines.push("", `Note: ${note}.`);
  return lines.join("\n");
}

/** Every server of `results` once: references first, then in row order. */
function serverNames(results: ScenarioResult[]): string[] {
  const refs = results.flatMap(([sc]) => ["raw", sc.reference]);
  const names = new Set(results.flatMap(([, rows]) => rows.map((r) => r.name)));
  return [...new Set([...refs.filter((n) => names.has(n)), ...names])];
}

/**
 * The matrix the closing note quotes: one row per server, one column per
 * scenario, server CPU per request as a ratio to the scenario's reference
 * (raw's absolute µs/req in its own row).
 */
export function summaryMatrix(results: ScenarioResult[]): string {
  const names = serverNames(results);
  const lines = [
    `| server | ${results.map(([s]) => s.name).join(" | ")} |`,
    `| --- | ${results.map(() => "---").join(" | ")} |`,
  ];
  for (const name of names) {
    const cells = results.map(([sc, rows]) => {
      const row = rows.find((r) => r.name === name);
      if (row === undefined) return "";
      if (row.skipped) return "skipped";
      if (!done(row)) return "failed";
      if (name === "raw") return `${fmt(summarize(row).cpu, 1)} µs`;
      const ref = rows.find((r) => r.name === sc.reference);
      const note = sc.reference === "raw" ? "" : ` (÷${sc.reference})`;
      return `${times(cpuRatio(row, ref))}${note}`;
    });
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The budget checks of the budget scenarios, one line each. */
export function budgetTable(results: ScenarioResult[]): string {
  const lines = [
    "| scenario | budget | CPU/req ratio | verdict |",
    "| --- | --- | --- | --- |",
  ];
  for (const [sc, rows] of results) {
    for (const v of verdicts(sc, rows)) {
      lines.push(
        `| ${sc.name} | ${v.budget.label} (${v.budget.server} ÷ ${v.against}) | ${
          times(v.ratio)
        } | ${mark(v)} |`,
      );
    }
  }
  return lines.length > 2 ? lines.join("\n") : "";
}

/**
 * Run-to-run stability: per server and scenario, the CPU ratio of every run
 * side by side (`1.10× / 1.12×`).
 */
export function stabilityMatrix(runs: ScenarioResult[][]): string {
  const first = runs[0];
  const names = serverNames(first).filter((n) => n !== "raw");
  const lines = [
    `| server | ${first.map(([s]) => s.name).join(" | ")} |`,
    `| --- | ${first.map(() => "---").join(" | ")} |`,
  ];
  for (const name of names) {
    const cells = first.map(([sc], i) => {
      if (!runs.some((run) => run[i][1].some((r) => r.name === name))) {
        return "";
      }
      const ratios = runs.map((run) => {
        const rows = run[i][1];
        return times(
          cpuRatio(
            rows.find((r) => r.name === name),
            rows.find((r) => r.name === sc.reference),
          ),
        );
      }).join(" / ");
      return sc.reference === "raw" ? ratios : `${ratios} (÷${sc.reference})`;
    });
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Tables and verdicts of the trust benchmark. */
import { num, table, type Cell } from "../lib/table.ts";
import { majorityError, majorityErrorPool } from "./model.ts";
import { POLICIES, type RunOutcome } from "./run.ts";

/** The issue-5 target: at f = 0.2 with colluding saboteurs, adaptive wrong ≤ 1e-3 at ≤ 1.6 results per shard. */
export const TARGET = { f: 0.2, wrong: 1e-3, work: 1.6 } as const;

/** A rate with its count: "0", or "2.0e-3 (4)". */
function rate(count: number, of: number): string {
  if (!of) return "-";
  return count === 0 ? "0" : `${(count / of).toExponential(1)} (${count})`;
}

/** One-sided 95% upper bound on a rate seen as k of n (exact for k = 0: the rule of three; Wilson-style above). */
export function upper95(k: number, n: number): number {
  if (!n) return Number.NaN;
  if (k === 0) return 1 - 0.05 ** (1 / n);
  const z = 1.645;
  const p = k / n;
  return (p + (z * z) / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
}

/** Wrong accepted shards per accepted shard. */
export const wrongRate = (r: RunOutcome) => (r.accepted ? r.wrong / r.accepted : Number.NaN);
/** Results computed per started shard: volunteers' outputs (ringers included) + the coordinator's own checks. */
export const workPerShard = (r: RunOutcome) => (r.work.results + r.work.checks) / (r.listed || r.total);

function work(r: RunOutcome): string {
  const n = r.listed || r.total;
  return `${num(workPerShard(r), 2)} (${num(r.work.results / n, 2)}+${num(r.work.checks / n, 2)})`;
}

const key = (r: RunOutcome) => `${r.spec.f}|${r.spec.s}|${r.spec.colluding}`;

/** Like table(), with a line of group titles over the columns (each group: [title, column count]). */
function groupedTable(groups: [string, number][], headers: string[], rows: Cell[][]): string {
  const body = table(headers, rows);
  const [head, rule] = body.split("\n");
  // Column widths from the rule line.
  const widths = rule!.split("  ").map((d) => d.length);
  const parts: string[] = [];
  let col = 0;
  for (const [title, span] of groups) {
    const w = widths.slice(col, col + span).reduce((a, b) => a + b, 0) + 2 * (span - 1);
    parts.push(title.length > w ? title.slice(0, w) : col === 0 ? title.padEnd(w) : title.padStart(Math.floor((w + title.length) / 2)).padEnd(w));
    col += span;
  }
  void head;
  return [parts.join("  ").trimEnd(), body].join("\n");
}

/** The main table: one row per (f, s, colluding), three columns per policy. */
export function mainTable(runs: RunOutcome[]): string {
  const rows: Cell[][] = [];
  const seen = new Map<string, RunOutcome[]>();
  for (const r of runs) seen.set(key(r), [...(seen.get(key(r)) ?? []), r]);
  for (const group of seen.values()) {
    const { f, s, colluding } = group[0]!.spec;
    const row: Cell[] = [num(f, 2), num(s, 1), colluding ? "yes" : "no"];
    for (const p of POLICIES) {
      const r = group.find((g) => g.spec.policy.name === p.name);
      if (!r) row.push("", "", "");
      else row.push(rate(r.wrong, r.accepted), rate(r.failed, r.accepted + r.failed), work(r));
    }
    rows.push(row);
  }
  return groupedTable(
    [
      ["config", 3],
      ...POLICIES.map((p): [string, number] => [p.replication ? `fixed ${p.name} (M=${p.m})` : p.published ? "adaptive, published kernel" : "adaptive", 3]),
    ],
    ["f", "s", "colluding", ...POLICIES.flatMap(() => ["wrong", "failed", "work/shard"])],
    rows,
  );
}

/** One row per run: what the coordinator did and what the volunteers saw. */
export function detailTable(runs: RunOutcome[]): string {
  return table(
    [
      "f",
      "s",
      "coll",
      "policy",
      "state",
      "decided/total",
      "wrong sent",
      "wrong",
      "failed",
      "results",
      "checks",
      "late work",
      "sab caught",
      "sab trusted",
      "honest bl",
      "honest trusted",
      "reopens",
      "job s",
      "run s",
      "errors",
    ],
    runs.map((r) => [
      num(r.spec.f, 2),
      num(r.spec.s, 1),
      r.spec.colluding ? "yes" : "no",
      r.spec.policy.name,
      r.timedOut ? `${r.state} TIMEOUT` : r.state,
      `${r.accepted + r.failed}/${r.total}`,
      r.wrongSubmitted,
      r.wrong,
      r.failed,
      r.work.results,
      r.work.checks,
      num(r.lateWork, 2),
      `${r.caught}/${r.saboteurs}`,
      r.saboteursTrusted,
      r.honestBlacklisted,
      `${r.honestTrusted}/${r.spec.volunteers - r.saboteurs}`,
      r.reopens,
      num(r.jobSeconds, 1),
      num(r.wallSeconds, 1),
      [...r.errors.values()].reduce((a, b) => a + b, 0),
    ]),
  );
}

/** Textbook M-first majority error at each f, and the same for this run's finite pool of volunteers. */
export function formulaTable(fs: number[], volunteers: number): string {
  return table(
    ["f", "M=2 (2-of-2, up to 3)", "M=3 (3-of-3, up to 5)", `pool: saboteurs/${volunteers}`, "pool M=2", "pool M=3"],
    fs.map((f) => {
      const sab = Math.round(f * volunteers);
      return [
        num(f, 2),
        num(majorityError(f, 2), 4),
        num(majorityError(f, 3), 4),
        sab,
        num(majorityErrorPool(sab, volunteers, 2), 4),
        num(majorityErrorPool(sab, volunteers, 3), 4),
      ];
    }),
  );
}

/** Verdict lines for the target, one per sabotage rate at f = 0.2 with colluding saboteurs. */
export function verdict(runs: RunOutcome[]): string[] {
  const at = runs.filter((r) => r.spec.policy.replication === undefined && r.spec.colluding && r.spec.f === TARGET.f);
  if (!at.length) return [`Target (f=${TARGET.f}, colluding, adaptive): not measured in this run.`];
  const lines = at.map((r) => {
    const w = wrongRate(r);
    const ok = !r.timedOut && r.state === "done" && w <= TARGET.wrong && workPerShard(r) <= TARGET.work;
    return (
      `  s=${r.spec.s}: wrong ${num(w * 1000, 2)}e-3 (${r.wrong}/${r.accepted}; 95% upper bound ${num(upper95(r.wrong, r.accepted) * 1000, 2)}e-3), ` +
      `work ${num(workPerShard(r), 2)}/shard (second half of the job: ${num(r.lateWork, 2)}), state ${r.state}` +
      `${r.timedOut ? " (timed out)" : ""} → ${ok ? "met" : "NOT met"}`
    );
  });
  const all = at.every((r) => !r.timedOut && r.state === "done" && wrongRate(r) <= TARGET.wrong && workPerShard(r) <= TARGET.work);
  const wrong = at.reduce((a, r) => a + r.wrong, 0);
  const accepted = at.reduce((a, r) => a + r.accepted, 0);
  const adaptive = runs.filter((r) => r.spec.policy.replication === undefined);
  const wrongAll = adaptive.reduce((a, r) => a + r.wrong, 0);
  const acceptedAll = adaptive.reduce((a, r) => a + r.accepted, 0);
  return [
    `Target at f=${TARGET.f}, colluding, adaptive: wrong ≤ ${TARGET.wrong} and work ≤ ${TARGET.work} per shard → ${all ? "MET" : "NOT MET"}`,
    ...lines,
    `  pooled over these runs: ${wrong} wrong of ${accepted} accepted (95% upper bound ${num(upper95(wrong, accepted) * 1000, 2)}e-3); ` +
      `over all ${adaptive.length} adaptive runs: ${wrongAll} of ${acceptedAll} (95% upper bound ${num(upper95(wrongAll, acceptedAll) * 1000, 3)}e-3)`,
  ];
}

/** Errors a run's volunteers are meant to see: results for a fixed-voting job that already failed. */
const expected = (r: RunOutcome, e: string) => r.state === "failed" && e === "entry 410 job_failed";

/** Things that should not happen: 5xx, timeouts, honest volunteers blacklisted, unexpected errors. */
export function healthLines(runs: RunOutcome[]): string[] {
  const out: string[] = [];
  let late = 0;
  for (const r of runs) for (const [e, n] of r.errors) if (expected(r, e)) late += n;
  for (const r of runs) {
    const label = `f=${r.spec.f} s=${r.spec.s} ${r.spec.colluding ? "colluding" : "independent"} ${r.spec.policy.name}`;
    if (r.timedOut) out.push(`  ${label}: TIMED OUT in state ${r.state} (${r.accepted}/${r.total} accepted, ${r.open} open)`);
    if (r.honestBlacklisted) {
      const why = new Map<string, number>();
      for (const reason of r.honestReasons) {
        const k = reason.replace(/job \S+/, "job <id>");
        why.set(k, (why.get(k) ?? 0) + 1);
      }
      out.push(`  ${label}: ${r.honestBlacklisted} HONEST volunteer(s) blacklisted: ${[...why].map(([k, n]) => `${n}× "${k}"`).join(", ")}`);
    }
    for (const [e, n] of r.errors) if (!expected(r, e)) out.push(`  ${label}: ${n}× ${e}`);
  }
  const note = `Expected: ${late} results answered 410 job_failed, sent for fixed-voting jobs that had already failed as a whole.`;
  return out.length
    ? ["Anomalies (should not happen: errors, timeouts, honest volunteers blacklisted):", ...out, note]
    : ["Anomalies: none (no 5xx or other errors, no timeouts, no honest volunteer blacklisted).", note];
}

/** A run's progress over time (with --trace: volunteers' standing about once a second). */
export function timelineTable(r: RunOutcome): string {
  let prev = { done: 0, work: 0 };
  const rows: Cell[][] = [];
  for (const x of r.timeline) {
    if (x.trustedHonest === undefined && x !== r.timeline.at(-1)) continue;
    const work = x.results + x.checks;
    const dDone = x.done - prev.done;
    rows.push([
      num(x.t, 1),
      x.state,
      x.done,
      x.results,
      x.checks,
      dDone > 0 ? num((work - prev.work) / dDone, 2) : "-",
      x.trustedHonest === undefined ? "" : `${x.trustedHonest}/${r.spec.volunteers - r.saboteurs}`,
      x.trustedSaboteurs ?? "",
      x.blacklistedHonest ?? "",
      x.blacklistedSaboteurs === undefined ? "" : `${x.blacklistedSaboteurs}/${r.saboteurs}`,
      x.waitingRinger ?? "",
      x.waitingValidated ?? "",
    ]);
    prev = { done: x.done, work };
  }
  return table(
    [
      "t s",
      "state",
      "done",
      "results",
      "checks",
      "Δwork/Δdone",
      "honest trusted",
      "sab trusted",
      "honest bl",
      "sab bl",
      "untrusted: no ringer yet",
      "<10 validated",
    ],
    rows,
  );
}

import type { JobStatusAnswer } from "../api/index.ts";

/** `1m 05s`, `3.2s`, `2h 10m`: a duration for people. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Numbers with thousands separators: `1,000,000`. */
export const formatCount = (n: number) => n.toLocaleString("en-US");

/** `12.3/s`, `1,204/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "–";
  return perSecond < 100 ? `${perSecond.toFixed(1)}/s` : `${formatCount(Math.round(perSecond))}/s`;
}

/** When something happened, relative to now: `3s ago`, `2h 10m ago`. */
export const formatAgo = (at: number, now = Date.now()) => `${formatDuration(Math.max(0, now - at))} ago`;

function percent(done: number, total: number): string {
  return total === 0 ? "100%" : `${Math.floor((100 * done) / total)}%`;
}

/** A job's status as a few readable lines. */
export function formatStatus(job: JobStatusAnswer, now = Date.now()): string {
  const { total, done, failed } = job.shards;
  const lines = [
    `job      ${job.id}${job.label ? `  (${job.label})` : ""}`,
    `kernel   ${job.kernel}`,
    `state    ${job.state}${job.error ? `: ${job.error}` : ""}`,
    `shards   ${formatCount(done)}/${formatCount(total)} done (${percent(done, total)})${failed ? `, ${formatCount(failed)} failed` : ""}`,
    `created  ${new Date(job.createdAt).toISOString()} (${formatAgo(job.createdAt, now)})`,
    `updated  ${new Date(job.updatedAt).toISOString()} (${formatAgo(job.updatedAt, now)})`,
  ];
  if (job.notify) lines.push(`webhook  ${WEBHOOK_STATE[job.notify.state]} (${plural(job.notify.attempts, "attempt")})`);
  return lines.join("\n");
}

const WEBHOOK_STATE = { pending: "pending", delivered: "delivered", gave_up: "gave up" } as const;
const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;

/** Jobs as an aligned table, newest first as the coordinator lists them. */
export function formatList(jobs: readonly JobStatusAnswer[], now = Date.now()): string {
  if (jobs.length === 0) return "No jobs yet. Submit one with: colmeia submit <kernel> ...";
  const rows = [
    ["ID", "KERNEL", "STATE", "DONE", "FAILED", "CREATED", "LABEL"],
    ...jobs.map((j) => [
      j.id,
      j.kernel,
      j.state,
      `${formatCount(j.shards.done)}/${formatCount(j.shards.total)}`,
      formatCount(j.shards.failed),
      formatAgo(j.createdAt, now),
      j.label ?? "",
    ]),
  ];
  return formatTable(rows);
}

/** Rows of cells as columns aligned by padding, two spaces apart; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * A result for a terminal: the JSON itself when short, otherwise a summary (for word counts,
 * the total and the most frequent words) and where to get all of it.
 */
export function summariseResult(result: unknown, fetchHint: string): string {
  const text = JSON.stringify(result, null, 2);
  if (text.length <= 2000) return text;
  const counts = (result as { counts?: unknown } | null)?.counts;
  if (counts && typeof counts === "object") {
    const entries = Object.entries(counts as Record<string, number>);
    const total = entries.reduce((sum, [, n]) => sum + n, 0);
    const top = entries
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([word, n]) => `${word} ${formatCount(n)}`)
      .join(", ");
    return `${formatCount(total)} words, ${formatCount(entries.length)} distinct; most frequent: ${top}\nFull result: ${fetchHint}`;
  }
  return `${text.slice(0, 1000)}\n… (${formatCount(text.length)} characters; full result: ${fetchHint})`;
}

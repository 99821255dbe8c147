/** Plain-text tables: first column left-aligned, the rest right-aligned. */

export type Cell = string | number | undefined;

/** Formats a number with `digits` decimals, or "-" when it is missing or NaN. */
export function num(v: number | undefined, digits = 0): string {
  return v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits);
}

export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => headers.map((_, i) => (r[i] === undefined ? "" : String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(headers), rule, ...text.map(line)].join("\n");
}

/** Counts as `3× what, 1× other` (in the map's order), e.g. the errors a run saw. */
export const tally = (counts: Iterable<[string, number]>, separator = ", "): string => [...counts].map(([what, n]) => `${n}× ${what}`).join(separator);

import type { RecordsOutput } from "../../shared/kernels/records.ts";
import { hasNumbers, isObject } from "../api/guards.ts";

/**
 * A `records.aggregate` result as the dashboard reads it: `{groups: {key: {metric: n}}, records,
 * skipped}`, and maybe fields a newer coordinator adds.
 */
export type RecordsResult = RecordsOutput & { [key: string]: unknown };

/** Whether a job's result is a records table (a result is whatever the job's kernel merged: check before showing it as one). */
export function isRecordsResult(value: unknown): value is RecordsResult {
  if (!isObject(value) || !hasNumbers(value, "records", "skipped") || !isObject(value.groups)) return false;
  return Object.values(value.groups).every((group) => isObject(group) && Object.values(group).every((n) => typeof n === "number"));
}

/** One column of the result table: a part of the group key (text) or a metric (number). */
export interface Column {
  label: string;
  kind: "key" | "metric";
}
export type Cell = string | number | undefined;

/** A table of a result: the key's columns, then one per metric; rows in key order. */
export interface RecordsTable {
  columns: Column[];
  rows: Cell[][];
}

/**
 * The parts of every group key: for several `groupBy` fields a key is the JSON array of their
 * values, so when every key reads as an array of one same length (2 or more) it is split into
 * that many columns; otherwise each key is one column.
 * @example splitKeys(['["Books","2025-03"]', '["Toys","2025-04"]']) // [["Books","2025-03"], ["Toys","2025-04"]]
 */
export function splitKeys(keys: readonly string[]): string[][] {
  const parts = keys.map((key) => {
    if (!key.startsWith("[")) return undefined;
    try {
      const value: unknown = JSON.parse(key);
      return Array.isArray(value) && value.every((v) => v === null || typeof v !== "object") ? value.map(String) : undefined;
    } catch {
      return undefined;
    }
  });
  const width = parts[0]?.length ?? 0;
  const split = width >= 2 && parts.every((p) => p?.length === width);
  return split ? (parts as string[][]) : keys.map((key) => [key]);
}

/** Lays a result out as a table: key columns ("group", or "group 1", "group 2", ...), then the metrics. */
export function recordsTable(result: RecordsResult): RecordsTable {
  const keys = Object.keys(result.groups).sort(compareText);
  const split = splitKeys(keys);
  const width = split[0]?.length ?? 1;
  const metrics = [...new Set(Object.values(result.groups).flatMap((group) => Object.keys(group)))];
  const columns: Column[] = [
    ...Array.from({ length: width }, (_, i): Column => ({ label: width === 1 ? "group" : `group ${i + 1}`, kind: "key" })),
    ...metrics.map((label): Column => ({ label, kind: "metric" })),
  ];
  const rows = keys.map((key, i) => [...split[i]!, ...metrics.map((m) => result.groups[key]![m])]);
  return { columns, rows };
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
const compareText = (a: string, b: string) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** Rows sorted by one column (numbers by value, text in natural order; empty cells last), stable. */
export function sortRows(rows: readonly Cell[][], column: number, direction: "ascending" | "descending"): Cell[][] {
  const sign = direction === "ascending" ? 1 : -1;
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => {
      const x = a.row[column];
      const y = b.row[column];
      if (x === undefined || y === undefined) return x === y ? a.i - b.i : x === undefined ? 1 : -1;
      const order = typeof x === "number" && typeof y === "number" ? x - y : compareText(String(x), String(y));
      return sign * order || a.i - b.i;
    })
    .map(({ row }) => row);
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * @example csvField('Mug, "ceramic"') // '"Mug, ""ceramic"""'
 */
export function csvField(value: Cell): string {
  let text = value === undefined ? "" : String(value);
  // Text a spreadsheet would run as a formula (a group key is whatever the records held) goes in
  // as text, behind an apostrophe (OWASP's advice on CSV injection); numbers stay numbers.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The table as RFC 4180 CSV: a header line, then the rows, each line ended by CRLF. */
export function toCsv(table: RecordsTable): string {
  const lines = [table.columns.map((c) => c.label), ...table.rows];
  return lines.map((cells) => `${cells.map(csvField).join(",")}\r\n`).join("");
}

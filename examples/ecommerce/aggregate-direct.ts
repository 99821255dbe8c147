// The grid's records.aggregate job, computed here in one Node thread from a local file: the
// answer to check the grid's against, and the one-thread baseline to time it by.
//   node examples/ecommerce/aggregate-direct.ts orders.jsonl --params examples/ecommerce/revenue-by-category.json
//   node examples/ecommerce/aggregate-direct.ts orders.jsonl --params ... --check grid.json   (colmeia result --json)
import { createReadStream, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { aggregateRecords, emptyRecords, mergeRecords, type RecordsOutput, type RecordsParams } from "../../shared/kernels/records.ts";
import { recordEnds } from "./csv.ts";

const USAGE = `usage: node examples/ecommerce/aggregate-direct.ts FILE --params PARAMS [--format jsonl|csv] [--check RESULT.json]
  --params   the job's params: a JSON file (revenue-by-category.json) or the JSON itself
  --format   overrides the params' format (default: theirs, or the file's extension)
  --check    a grid result to compare with (colmeia result JOB --json > RESULT.json); exit 1 if it differs`;

/**
 * A file's whole records in pieces of about `pieceBytes` characters, read as a stream: a piece
 * never ends inside a record (for CSV, a line break inside quotes ends none).
 */
export async function* recordChunks(path: string, csv: boolean, pieceBytes = 1 << 20): AsyncGenerator<string> {
  const ends = recordEnds(csv);
  let carry = "";
  for await (const piece of createReadStream(path, { encoding: "utf8", highWaterMark: pieceBytes })) {
    const text = carry + (piece as string);
    const end = ends.lastEnd(text, carry.length);
    if (end < 0) {
      carry = text;
      continue;
    }
    carry = text.slice(end);
    yield text.slice(0, end);
  }
  if (carry) yield carry; // a last record without a line break
}

/** The text of a CSV's first record (its header) without the line end. */
function firstRecord(text: string): string {
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuote = !inQuote;
    else if (c === "\n" && !inQuote) return text.slice(0, text[i - 1] === "\r" ? i - 1 : i);
  }
  return text;
}

/**
 * Aggregates a whole file chunk by chunk with the grid's own kernel (shared/kernels/records.ts),
 * the way the grid does shard by shard: chunks after the first get the CSV header apart.
 */
export async function aggregateFile(path: string, params: RecordsParams): Promise<RecordsOutput> {
  const merge = mergeRecords(params);
  const result = emptyRecords();
  let header: string | undefined;
  for await (const text of recordChunks(path, params.format === "csv")) {
    merge(result, aggregateRecords({ text, header }, params));
    if (params.format === "csv") header ??= firstRecord(text);
  }
  return result;
}

/** The result with its groups in key order, so two answers print alike. */
export function sortedGroups(result: RecordsOutput): RecordsOutput {
  const groups = Object.fromEntries(Object.entries(result.groups).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { groups, records: result.records, skipped: result.skipped };
}

/** What differs between the direct result and the grid's, one line each (none: they agree). */
export function differences(mine: RecordsOutput, grid: RecordsOutput): string[] {
  const lines: string[] = [];
  for (const field of ["records", "skipped"] as const) {
    if (mine[field] !== grid[field]) lines.push(`${field}: here ${mine[field]}, grid ${grid[field]}`);
  }
  for (const key of new Set([...Object.keys(mine.groups), ...Object.keys(grid.groups)])) {
    const a = JSON.stringify(Object.entries(mine.groups[key] ?? {}).sort());
    const b = JSON.stringify(Object.entries(grid.groups[key] ?? {}).sort());
    if (a !== b) lines.push(`group ${JSON.stringify(key)}: here ${JSON.stringify(mine.groups[key])}, grid ${JSON.stringify(grid.groups[key])}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { params: { type: "string" }, format: { type: "string" }, check: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) return void console.log(USAGE);
  const [file] = positionals;
  if (!file || positionals.length > 1 || !values.params) throw new Error("give one FILE and --params");
  const text = values.params.trimStart().startsWith("{") ? values.params : readFileSync(values.params, "utf8");
  const params = JSON.parse(text) as RecordsParams;
  params.format = (values.format ?? params.format ?? (file.endsWith(".csv") ? "csv" : "jsonl")) as RecordsParams["format"];
  if (params.format !== "jsonl" && params.format !== "csv") throw new Error(`format must be jsonl or csv, not ${params.format}`);

  const started = performance.now();
  const result = sortedGroups(await aggregateFile(file, params));
  const seconds = (performance.now() - started) / 1000;
  const mb = statSync(file).size / 1e6;
  console.log(JSON.stringify(result, null, 2));
  console.error(
    `${result.records.toLocaleString("en-US")} records (${mb.toFixed(1)} MB) in ${seconds.toFixed(2)} s on one thread: ${(mb / seconds).toFixed(1)} MB/s`,
  );

  if (values.check) {
    const answer = JSON.parse(readFileSync(values.check, "utf8")) as RecordsOutput | { result: RecordsOutput };
    const grid = "result" in answer ? answer.result : answer;
    const diff = differences(result, grid);
    if (diff.length) {
      console.error(`The grid's result differs (${diff.length} difference${diff.length === 1 ? "" : "s"}):\n  ${diff.slice(0, 20).join("\n  ")}`);
      process.exitCode = 1;
    } else {
      console.error(
        `Same as the grid's result: ${Object.keys(result.groups).length} groups, ${result.records.toLocaleString("en-US")} records, ${result.skipped} skipped.`,
      );
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    console.error(`aggregate-direct: ${error.message}\n${USAGE}`);
    process.exit(2);
  });
}

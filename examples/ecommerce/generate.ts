// Writes realistic e-commerce orders as JSON Lines or CSV, streamed, the same for the same seed:
//   node examples/ecommerce/generate.ts --bytes 200MB --format jsonl --seed 42 --out orders.jsonl
//   node examples/ecommerce/generate.ts --records 1000 --format csv          (to stdout)
import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { csvLine } from "./csv.ts";
import { ORDER_FIELDS, orderSource, type Order } from "./orders.ts";

const USAGE = `usage: node examples/ecommerce/generate.ts (--records N | --bytes SIZE) [--format jsonl|csv] [--seed 42] [--out FILE]
  --records N     exactly N orders
  --bytes SIZE    as many orders as fit in SIZE (200MB, 1.5GB, 64MiB, 500kB, 1000000)
  --format        jsonl (default, or from --out's extension) or csv (RFC 4180, header line first)
  --seed          any integer (default 42): the same seed writes the same orders
  --out           file to write (default: stdout)`;

const UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** Bytes in `200MB` (powers of 1000) or `64MiB` (powers of 1024). */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = UNITS[match?.[2]?.toLowerCase() ?? "?"];
  if (!match || unit === undefined) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 200MB, 64MiB)`);
  return Math.floor(Number(match[1]) * unit);
}

/** One order as a line of the format (JSON Lines keep the field order of the CSV header). */
export function orderLine(order: Order, format: "jsonl" | "csv"): string {
  return format === "csv" ? csvLine(ORDER_FIELDS.map((f) => order[f])) : `${JSON.stringify(order)}\n`;
}

export interface GenerateOptions {
  seed: number;
  format: "jsonl" | "csv";
  /** Stop after this many orders... */
  records?: number;
  /** ...or before the output would pass this many bytes. */
  bytes?: number;
  /** Called about once a second while writing. */
  onProgress?: (written: { orders: number; bytes: number }) => void;
}

/** The output in pieces of about 64 KiB, made only as fast as they are consumed. */
export async function* generate(opts: GenerateOptions): AsyncGenerator<string> {
  const next = orderSource(opts.seed);
  const maxOrders = opts.records ?? Infinity;
  const maxBytes = opts.bytes ?? Infinity;
  let piece = opts.format === "csv" ? csvLine(ORDER_FIELDS) : "";
  let bytes = piece.length;
  if (bytes > maxBytes) return;
  let orders = 0;
  let reported = Date.now();
  while (orders < maxOrders) {
    const line = orderLine(next(), opts.format);
    const size = Buffer.byteLength(line);
    if (bytes + size > maxBytes) break;
    piece += line;
    bytes += size;
    orders++;
    if (piece.length >= 65_536) {
      yield piece;
      piece = "";
      if (opts.onProgress && Date.now() - reported >= 1000) {
        reported = Date.now();
        opts.onProgress({ orders, bytes });
      }
    }
  }
  if (piece) yield piece;
  opts.onProgress?.({ orders, bytes });
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const num = (n: number) => n.toLocaleString("en-US");

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: "string" },
      bytes: { type: "string" },
      format: { type: "string" },
      seed: { type: "string", default: "42" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return void console.log(USAGE);
  const format = values.format ?? (values.out?.endsWith(".csv") ? "csv" : "jsonl");
  const seed = Number(values.seed);
  const records = values.records === undefined ? undefined : Number(values.records.replaceAll("_", ""));
  const bytes = values.bytes === undefined ? undefined : parseBytes(values.bytes);
  if (format !== "jsonl" && format !== "csv") throw new Error(`--format must be jsonl or csv, not ${format}`);
  if ((records === undefined) === (bytes === undefined)) throw new Error("give exactly one of --records and --bytes");
  if (records !== undefined && !(Number.isSafeInteger(records) && records >= 0)) throw new Error(`--records must be a whole number, not ${values.records}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not ${values.seed}`);

  const toFile = values.out !== undefined && values.out !== "-";
  const out: Writable = toFile ? createWriteStream(values.out!) : process.stdout;
  const name = toFile ? values.out! : "stdout";
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let progressed = false;
  let last = { orders: 0, bytes: 0 };
  const onProgress = ({ orders, bytes: written }: { orders: number; bytes: number }) => {
    last = { orders, bytes: written };
    if (Date.now() - started < 1000) return; // small outputs finish without a progress line
    progressed = true;
    const share = bytes ? written / bytes : orders / records!;
    const line = `${name}: ${mb(written)}, ${num(orders)} orders (${(share * 100).toFixed(0)}%)`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
  try {
    await pipeline(Readable.from(generate({ seed, format, records, bytes, onProgress })), out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EPIPE") return; // `| head`: the reader had enough
    throw error;
  }
  if (progressed && tty) process.stderr.write("\n");
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (toFile) console.error(`Wrote ${num(last.orders)} orders (${mb(last.bytes)}, ${format}, seed ${seed}) to ${name} in ${seconds} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    console.error(`generate: ${error.message}\n${USAGE}`);
    process.exit(2);
  });
}

/**
 * `npm run bench:records` (`--quick` for 16 MB, `--mb 64`, `--big-gb 1` for the job-creation
 * figure, `0` to skip it): records per minute through the local grid against the same
 * aggregation in one Node thread, for JSON Lines and CSV.
 *
 * For each format: generate the e-commerce orders (examples/ecommerce), aggregate them directly
 * in one thread (the baseline), upload them with `colmeia dataset upload`, start one
 * `colmeia volunteer --threads 2` (vouched for with a VOLUNTEER_KEYS key, as an operator's own
 * machine would be, so the figure is the grid's throughput rather than its trust-building), run
 * `records.aggregate` over the dataset and time it from creation to `done`. The grid's result
 * must equal the direct one. Goal: the grid within 20 % of 2x one thread. Last, the time to
 * create a job over a 1 GB dataset.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { createClient } from "../client/api/index.ts";
import { aggregateFile, differences } from "../examples/ecommerce/aggregate-direct.ts";
import { generate } from "../examples/ecommerce/generate.ts";
import type { RecordsOutput, RecordsParams } from "../shared/kernels/records.ts";
import { startLocalServer } from "../test/support/local-server.ts";
import { startVolunteerProcess, stopVolunteerProcess } from "../test/support/volunteer-process.ts";
import { hostLine } from "./lib/cpu.ts";
import { num, table } from "./lib/table.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean" }, mb: { type: "string" }, "big-gb": { type: "string" }, chunk: { type: "string" } } });
const MB = Number(values.mb ?? (values.quick ? 16 : 64));
const BIG_GB = Number(values["big-gb"] ?? (values.quick ? 0 : 1));
const CHUNK = Number(values.chunk ?? 1 << 20);
const root = resolve(import.meta.dirname, "..");
const bin = join(root, "bin/colmeia.js");
const KEY = "bench-volunteer-key";
const dir = mkdtempSync(join(tmpdir(), "colmeia-bench-records-"));

const params = (format: "jsonl" | "csv"): RecordsParams => ({
  format,
  groupBy: ["category", "month"],
  metrics: { orders: { count: true }, revenue: { sum: "price_cents" }, largest: { max: "price_cents" }, smallest: { min: "price_cents" } },
  where: { status: "paid" },
});

async function writeOrders(path: string, format: "jsonl" | "csv", bytes: number): Promise<void> {
  await pipeline(Readable.from(generate({ seed: 42, format, bytes })), createWriteStream(path));
}

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  return stdout;
}

const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
step("starting the local grid");
const server = await startLocalServer({ vars: { VOLUNTEER_KEYS: KEY, SUBMIT_RATE_PER_MINUTE: "1000000", REGISTRATIONS_PER_MINUTE: "100000" } });
const env = { COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0] };
const client = createClient({ url: server.url, token: server.tokens[0] });
const rows: (string | number)[][] = [];
let volunteer: ChildProcess | undefined;
try {
  console.log(hostLine());
  step("starting colmeia volunteer --threads 2");
  volunteer = await startVolunteerProcess(server.url, ["--threads", "2", "--key", KEY]);
  for (const format of ["jsonl", "csv"] as const) {
    const path = join(dir, `orders.${format}`);
    step(`${format}: generating ${MB} MB of orders`);
    await writeOrders(path, format, MB * 1e6);
    step(`${format}: aggregating directly in one thread`);
    const t0 = performance.now();
    const direct = await aggregateFile(path, params(format));
    const directMs = performance.now() - t0;

    step(`${format}: uploading`);
    const dataset = JSON.parse(await cli(["dataset", "upload", path, "--json"], env)) as { id: string; bytes: number };
    step(`${format}: running records.aggregate on the grid`);
    const t1 = performance.now();
    const job = await client.submit({ kernel: "records.aggregate", dataset: { id: dataset.id, chunkBytes: CHUNK }, params: { ...params(format) } });
    let firstAt: number | undefined;
    const final = await client.wait(job.id, { onProgress: (st) => void (st.shards.done > 0 && (firstAt ??= performance.now())) });
    const gridMs = performance.now() - t1;
    const steadyMs = firstAt === undefined ? gridMs : ((performance.now() - firstAt) * final.shards.total) / Math.max(1, final.shards.total - 1);
    if (final.state !== "done") throw new Error(`job ${job.id} ended ${final.state}: ${final.error ?? ""}`);
    const { result } = (await client.result(job.id)) as { result: RecordsOutput };
    const diff = differences(direct, result);
    if (diff.length) throw new Error(`the grid's ${format} result differs from the direct one:\n${diff.slice(0, 5).join("\n")}`);

    const perMin = (ms: number) => (direct.records / ms) * 60_000;
    rows.push([
      format,
      `${(statSync(path).size / 1e6).toFixed(0)} MB`,
      num(direct.records),
      num(perMin(directMs)),
      num(perMin(gridMs)),
      (perMin(gridMs) / (2 * perMin(directMs))).toFixed(2),
      num(perMin(steadyMs)),
      (perMin(steadyMs) / (2 * perMin(directMs))).toFixed(2),
      final.shards.total,
      final.work?.checks ?? 0,
    ]);
  }
  console.log(
    table(
      [
        "format",
        "data",
        "records",
        "1 thread direct (rec/min)",
        "grid from creation (rec/min)",
        "ratio",
        "grid once running (rec/min)",
        "ratio",
        "shards",
        "coordinator checks",
      ],
      rows,
    ),
  );
  console.log("ratio: grid / (2 x one thread direct); 'once running' leaves out the wait for an idle volunteer to notice the new job");
  console.log("goal: grid / (2 x 1 thread) >= 0.80");

  if (BIG_GB > 0) {
    const big = join(dir, "big.jsonl");
    await writeOrders(big, "jsonl", BIG_GB * 1e9);
    const dataset = JSON.parse(await cli(["dataset", "upload", big, "--json"], env)) as { id: string; bytes: number };
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const job = await client.submit({ kernel: "records.aggregate", dataset: { id: dataset.id, chunkBytes: 1 << 20 }, params: { ...params("jsonl") } });
      times.push(performance.now() - t);
      await client.cancel(job.id);
    }
    times.sort((a, b) => a - b);
    console.log(
      `job creation over a ${(dataset.bytes / 1e9).toFixed(2)} GB dataset (${Math.ceil(dataset.bytes / (1 << 20))} shards): median ${times[2]!.toFixed(0)} ms, best ${times[0]!.toFixed(0)} ms of 5`,
    );
  }
} finally {
  if (volunteer) await stopVolunteerProcess(volunteer);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

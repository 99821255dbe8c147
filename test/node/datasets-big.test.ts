import { execFile, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../client/api/index.ts";
import { aggregateFile } from "../../examples/ecommerce/aggregate-direct.ts";
import { generate } from "../../examples/ecommerce/generate.ts";
import type { RecordsParams } from "../../shared/kernels/records.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";
import { startVolunteerProcess, stopVolunteerProcess } from "../support/volunteer-process.ts";

// The figure of merit as a test: 200 MB of generated orders (JSON Lines), uploaded with
// the CLI in parts, aggregated by real Node volunteers (newcomers, so the coordinator checks them
// on the same bytes), ending with exactly the one-thread direct computation (integer cents).

const bin = resolve(import.meta.dirname, "../../bin/colmeia.js");
const work = mkdtempSync(join(tmpdir(), "colmeia-big-"));
const file = join(work, "orders.jsonl");
let server: LocalServer;
const volunteers: ChildProcess[] = [];

const params: RecordsParams = {
  format: "jsonl",
  groupBy: ["category", "month"],
  metrics: { orders: { count: true }, revenue: { sum: "price_cents" }, largest: { max: "price_cents" }, smallest: { min: "price_cents" } },
  where: { status: "paid" },
};

beforeAll(async () => {
  server = await startLocalServer();
  await pipeline(Readable.from(generate({ seed: 7, format: "jsonl", bytes: 200e6 })), createWriteStream(file));
});

afterAll(async () => {
  await Promise.all(volunteers.map(stopVolunteerProcess));
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a 200 MB dataset through the grid", () => {
  it("aggregates 200 MB of orders on real Node volunteers to exactly the direct computation", { timeout: 600_000 }, async () => {
    expect(statSync(file).size).toBeGreaterThan(199e6);
    const env = { ...process.env, COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], COLMEIA_STATE_DIR: join(work, "cli") };
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "dataset", "upload", file, "--json"], { env, maxBuffer: 1 << 24 });
    const dataset = JSON.parse(stdout) as { id: string; bytes: number };
    expect(dataset.bytes).toBe(statSync(file).size);

    volunteers.push(await startVolunteerProcess(server.url, ["--threads", "2"]));
    const client = createClient({ url: server.url, token: server.tokens[0] });
    const job = await client.submit({ kernel: "records.aggregate", dataset: { id: dataset.id, chunkBytes: 1 << 20 }, params: { ...params } });
    expect(job.shards.total).toBe(Math.ceil(dataset.bytes / (1 << 20)));
    const final = await client.wait(job.id);
    expect(final.state).toBe("done");

    const direct = await aggregateFile(file, params);
    expect(direct.records).toBeGreaterThan(800_000);
    expect((await client.result(job.id)).result).toEqual(direct);
  });
});

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type ColmeiaClient } from "../../client/api/index.ts";
import { aggregateRecords, type RecordsParams } from "../../shared/kernels/records.ts";
import { countWords } from "../../shared/kernels/wordcount.ts";
import { Dataset } from "../../shared/schemas.ts";
import { launchBrowser } from "../support/browser.ts";
import { backgroundVolunteer, COLMEIA_BIN, runColmeia, type RunOptions } from "../support/cli.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

// `colmeia dataset ...` and `colmeia submit --dataset` as a user runs them, against a real local
// coordinator (npm start) with its local R2, and real Node volunteers reading the shards.

const work = mkdtempSync(join(tmpdir(), "colmeia-datasets-"));
const stateDir = join(work, "state");
const MiB = 1024 * 1024;
let server: LocalServer;
let client: ColmeiaClient;

/** The CLI with this server, the first token and this test's state folder. */
const colmeia = (args: string[], opts: RunOptions = {}) =>
  runColmeia(args, { ...opts, env: { COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], COLMEIA_STATE_DIR: stateDir, ...opts.env } });
const volunteer = (threads: number) => backgroundVolunteer(server.url, threads);

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Deterministic text of about `bytes` bytes: lines of words in several scripts. */
function text(bytes: number, seed = 7): string {
  const words = ["alpha", "Beta", "gamma", "olá", "coração", "東京", "слово", "x2", "42", "emoji😀ok"];
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    seed = (seed * 48271) % 2147483647;
    const line = `${Array.from({ length: 1 + (seed % 17) }, (_, i) => words[(seed >> (i % 16)) % words.length]).join(" ")}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return lines.join("");
}

const smallFile = join(work, "orders.jsonl");
const bigFile = join(work, "big.txt");

beforeAll(async () => {
  writeFileSync(
    smallFile,
    `${Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, category: ["a", "b", "c"][i % 3], price_cents: (i * 37) % 9999 })).join("\n")}\n`,
  );
  writeFileSync(bigFile, text(12 * MiB));
  server = await startLocalServer();
  client = createClient({ url: server.url, token: server.tokens[0] });
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("colmeia dataset against a local coordinator", () => {
  it("uploads a small file in one streamed body; --json prints exactly the answer, whose SHA-256 is the file's", async () => {
    const run = await colmeia(["dataset", "upload", smallFile, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dataset = Dataset.strict().parse(JSON.parse(run.stdout));
    expect(dataset).toMatchObject({ name: "orders.jsonl", bytes: readFileSync(smallFile).length, sha256: sha256(smallFile) });
    expect(dataset.id).toMatch(/^d_[0-9a-f]{32}$/);
    expect(await client.dataset(dataset.id)).toEqual(dataset);

    const human = await colmeia(["dataset", "upload", smallFile, "--name", "copy.jsonl"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^d_[0-9a-f]{32}\n$/);
    expect(human.stderr).toMatch(/^Uploaded copy\.jsonl \(.* KiB, sha256 [0-9a-f]{16}…\) in /);
  });

  it("uploads a larger file in 5 MiB parts and forgets the finished upload", async () => {
    const run = await colmeia(["dataset", "upload", bigFile, "--part-size", "5MiB", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dataset = JSON.parse(run.stdout);
    expect(dataset).toMatchObject({ name: "big.txt", bytes: readFileSync(bigFile).length, sha256: sha256(bigFile) });
    expect(JSON.parse(readFileSync(join(stateDir, "uploads.json"), "utf8"))).toEqual({ uploads: {} });
  });

  it("resumes a multipart upload interrupted after its first part, from part 2", async () => {
    // Holds part 2 on its way (until the abort), so the interruption lands after exactly one part.
    const hold = join(work, "hold-part-2.mjs");
    writeFileSync(
      hold,
      `const real = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  if (init?.method === "PUT" && /\\/parts\\/2$/.test(String(input instanceof Request ? input.url : input))) {
    process.stderr.write("holding part 2\\n");
    const alive = setInterval(() => {}, 1000);
    return new Promise((_, reject) => init.signal?.addEventListener("abort", () => (clearInterval(alive), reject(init.signal.reason))));
  }
  return real(input, init);
};\n`,
    );
    const file = join(work, "resume.txt");
    writeFileSync(file, text(11 * MiB, 99));
    const first = await colmeia(["dataset", "upload", file, "--part-size", "5MiB"], { nodeArgs: ["--import", hold], interruptWhen: /holding part 2/ });
    expect(first.code).toBe(130);
    const uploadId = /as upload (u_[0-9a-f]{32})/.exec(first.stderr)?.[1];
    expect(uploadId).toBeDefined();
    expect(first.stderr).toContain(`Interrupted; upload ${uploadId} keeps 1 of 3 parts for 24 hours: run the same command again to resume`);
    expect(await client.uploadStatus(uploadId!)).toMatchObject({ uploadId, received: 1, parts: 3, partBytes: 5 * MiB });

    const second = await colmeia(["dataset", "upload", file, "--part-size", "5MiB"]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`^Resuming upload ${uploadId} at part 2 of 3\n`));
    const id = second.stdout.trim();
    expect(await client.dataset(id)).toMatchObject({ name: "resume.txt", bytes: readFileSync(file).length, sha256: sha256(file) });
    await expect(client.uploadStatus(uploadId!)).rejects.toMatchObject({ status: 404 });
  });

  it("drives a multipart upload through the typed client: parts in order only, progress counted, abortable", async () => {
    const bytes = readFileSync(bigFile);
    const upload = await client.startUpload({ name: "by-hand.txt", bytes: bytes.length, partBytes: 5 * MiB });
    expect(upload).toMatchObject({ uploadId: expect.stringMatching(/^u_/), parts: 3, received: 0 });
    await expect(client.uploadPart(upload.uploadId, 2, bytes.subarray(5 * MiB, 10 * MiB))).rejects.toMatchObject({ status: 409, code: "part_out_of_order" });
    const seen: number[] = [];
    const stream = () => new Blob([bytes.subarray(0, 5 * MiB)]).stream();
    const after = await client.uploadPart(upload.uploadId, 1, stream, { bytes: 5 * MiB, onProgress: (sent) => seen.push(sent) });
    expect(after.received).toBe(1);
    expect(seen.at(-1)).toBe(5 * MiB);
    expect((await client.uploadStatus(upload.uploadId)).received).toBe(1);
    await client.abortUpload(upload.uploadId);
    await expect(client.uploadStatus(upload.uploadId)).rejects.toMatchObject({ status: 404 });
  });

  it("lists, shows and deletes datasets, and refuses to delete one a running job reads", async () => {
    const { datasets } = await client.datasets();
    expect(datasets.length).toBeGreaterThanOrEqual(4);
    const list = await colmeia(["dataset", "list", "--json"]);
    expect(JSON.parse(list.stdout)).toEqual(
      await (await fetch(`${server.url}/v1/datasets`, { headers: { authorization: `Bearer ${server.tokens[0]}` } })).json(),
    );
    const table = (await colmeia(["dataset", "list"])).stdout;
    expect(table.split("\n")[0]).toMatch(/^ID\s+NAME\s+SIZE\s+SHA256\s+CREATED$/);
    expect(table).toContain(`${sha256(bigFile).slice(0, 12)}  `);
    expect((await colmeia(["dataset", "list"], { env: { COLMEIA_TOKEN: server.tokens[1] } })).stdout).toMatch(/^No datasets yet/);

    const big = datasets.find((d) => d.name === "big.txt")!;
    const shown = await colmeia(["dataset", "show", big.id]);
    expect(shown.stdout).toContain(`sha256   ${big.sha256}`);
    expect(JSON.parse((await colmeia(["dataset", "show", big.id, "--json"])).stdout)).toEqual(big);

    const job = JSON.parse((await colmeia(["submit", "wordcount", "--dataset", big.id, "--chunk", "64KiB", "--json"])).stdout);
    expect(job).toMatchObject({ state: "running", shards: { total: Math.ceil(big.bytes / (64 * 1024)) } });
    const refused = await colmeia(["dataset", "rm", big.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*\(HTTP 409 dataset_in_use\)\n$/);
    await client.cancel(job.id);

    const removed = await colmeia(["dataset", "rm", big.id]);
    expect(removed).toMatchObject({ code: 0, stdout: `Deleted dataset ${big.id}\n` });
    const copy = datasets.find((d) => d.name === "copy.jsonl")!;
    expect(JSON.parse((await colmeia(["dataset", "rm", copy.id, "--json"])).stdout)).toEqual({ deleted: true });
    const gone = await colmeia(["dataset", "show", big.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/HTTP 404/);
  });

  it("runs wordcount and records.aggregate jobs over datasets on a Node volunteer to exactly the direct computation", async () => {
    const file = join(work, "corpus.txt");
    writeFileSync(file, text(600 * 1024, 3));
    const id = (await colmeia(["dataset", "upload", file])).stdout.trim();
    const v = volunteer(2);
    await v.started;
    const run = await colmeia(["submit", "wordcount", "--dataset", id, "--chunk", "64KiB", "--replicas", "1", "--watch", "--json"]);
    expect(run.code).toBe(0);
    const final = JSON.parse(run.stdout);
    const shards = Math.ceil(readFileSync(file).length / (64 * 1024));
    expect(final).toMatchObject({ state: "done", shards: { total: shards, done: shards, failed: 0 } });
    expect((await client.result(final.id)).result).toEqual(countWords({ text: readFileSync(file, "utf8") }));

    // records.aggregate as the help shows it: every record read once, merged to the direct computation.
    const orders = JSON.parse((await colmeia(["dataset", "upload", smallFile, "--json"])).stdout).id;
    const params = {
      format: "jsonl",
      groupBy: ["category"],
      metrics: { orders: { count: true }, revenue: { sum: "price_cents" }, top: { max: "price_cents" } },
    } satisfies RecordsParams;
    const aggregated = await colmeia([
      "submit",
      "records.aggregate",
      "--dataset",
      orders,
      "--chunk",
      "16KiB",
      "--params",
      JSON.stringify(params),
      "--replicas",
      "1",
      "--watch",
      "--json",
    ]);
    expect(aggregated.code).toBe(0);
    const job = JSON.parse(aggregated.stdout);
    expect(job.shards.total).toBe(Math.ceil(readFileSync(smallFile).length / (16 * 1024)));
    expect((await client.result(job.id)).result).toEqual(aggregateRecords({ text: readFileSync(smallFile, "utf8") }, params));
    expect(await v.interrupt()).toBe(0);
  });

  it("runs a job over a dataset on the volunteer page in Chromium, which fetches each shard with its token", async () => {
    const file = join(work, "page.txt");
    writeFileSync(file, text(200 * 1024, 5));
    const dataset = await client.uploadDataset("page.txt", readFileSync(file));
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/?autostart=1&threads=1`);
      const job = await client.submit({ kernel: "wordcount", dataset: { id: dataset.id, chunkBytes: 32 * 1024 }, replication: { replicas: 1, quorum: 1 } });
      const final = await client.wait(job.id);
      expect(final).toMatchObject({ state: "done", shards: { failed: 0 } });
      expect((await client.result(job.id)).result).toEqual(countWords({ text: readFileSync(file, "utf8") }));
    } finally {
      await browser.close();
    }
  });

  it("renders a byte progress bar with rate and ETA on a terminal", async () => {
    const command = [process.execPath, COLMEIA_BIN, "dataset", "upload", bigFile, "--name", "tty.txt", "--part-size", "5MiB"].map((a) => `'${a}'`).join(" ");
    const out = await new Promise<string>((ok) => {
      const child = spawn("script", ["-qfec", command, "/dev/null"], {
        env: { ...process.env, COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], COLMEIA_STATE_DIR: stateDir, COLUMNS: "120" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
      child.on("close", () => ok(stdout));
    });
    expect(out).toMatch(/100% \| 12\.0 MiB \/ 12\.0 MiB \| [\d.]+ (KiB|MiB)\/s \| ETA 0s/);
    expect(out).toMatch(/d_[0-9a-f]{32}/);
  });

  it("refuses bad usage with one line and exit 2, before sending anything", async () => {
    for (const [args, message] of [
      [["dataset", "upload", join(work, "missing.csv")], /no such file/],
      [["dataset", "upload", smallFile, "--part-size", "1MiB"], /--part-size must be between 5\.0 MiB and 95\.0 MiB/],
      [["dataset", "upload", smallFile, "--name", "a/b"], /--name "a\/b"/],
      [["submit", "wordcount", "--dataset", "d_0123456789abcdef0123456789abcdef", "--file", smallFile], /--dataset cannot go with --file/],
    ] as const) {
      const run = await colmeia([...args]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
  });
});

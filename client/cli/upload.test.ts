import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ColmeiaError, type ColmeiaClient, type DatasetAnswer, type UploadAnswer, type UploadSource } from "../api/index.ts";
import { LIMITS } from "../../shared/limits.ts";
import { UsageError } from "./exit.ts";
import { fileRange, uploadHash } from "./file-parts.ts";
import { formatSize, parseSize, sizeFlag } from "./input/size.ts";
import { jobSpecs } from "./job-spec.ts";
import { partRange, uploadPlan } from "./upload-plan.ts";
import { stateDir, uploadKey, uploadState, type SavedUpload } from "./upload-state.ts";
import { uploadFile } from "./upload.ts";

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), "colmeia-upload-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("sizes", () => {
  it("reads GiB and checks a flag's bounds", () => {
    expect(parseSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseSize("1GB")).toBe(1e9);
    expect(formatSize(3 * 1024 ** 3)).toBe("3.0 GiB");
    expect(sizeFlag("--part-size", "32MiB", 5 * MiB, 95 * MiB)).toBe(32 * MiB);
    expect(() => sizeFlag("--part-size", "1MiB", 5 * MiB, 95 * MiB)).toThrow(/--part-size must be between 5.0 MiB and 95.0 MiB/);
    expect(() => sizeFlag("--part-size", "lots", 5 * MiB, 95 * MiB)).toThrow(/--part-size: not a size/);
  });
});

describe("uploadPlan", () => {
  it("sends files up to 95 MiB in one body and larger ones in 32 MiB parts", () => {
    expect(uploadPlan(1)).toEqual({ mode: "single" });
    expect(uploadPlan(LIMITS.datasetBodyBytes)).toEqual({ mode: "single" });
    expect(uploadPlan(LIMITS.datasetBodyBytes + 1)).toEqual({ mode: "parts", partBytes: 32 * MiB, parts: 3 });
  });
  it("grows parts past 32 MiB when 10,000 would not hold the file", () => {
    const plan = uploadPlan(500 * 1024 ** 3);
    expect(plan).toMatchObject({ mode: "parts" });
    if (plan.mode !== "parts") return;
    expect(plan.partBytes % MiB).toBe(0);
    expect(plan.parts).toBeLessThanOrEqual(LIMITS.uploadParts);
    expect(() => uploadPlan(LIMITS.datasetBytes)).toThrow(UsageError);
  });
  it("sends anything larger than an explicit --part-size in parts, and refuses one that makes too many", () => {
    expect(uploadPlan(6 * MiB, 5 * MiB)).toEqual({ mode: "parts", partBytes: 5 * MiB, parts: 2 });
    expect(uploadPlan(5 * MiB, 5 * MiB)).toEqual({ mode: "single" });
    expect(() => uploadPlan(100 * 1024 ** 3, 5 * MiB)).toThrow(/makes 20480 parts, over 10000: use at least 11.0 MiB/);
  });
  it("cuts parts of exactly partBytes but the last", () => {
    expect(partRange(1, 5, 12)).toEqual({ start: 0, end: 5 });
    expect(partRange(3, 5, 12)).toEqual({ start: 10, end: 12 });
  });
});

describe("uploadState", () => {
  const version = { file: join(work, "data.csv"), bytes: 10, mtimeMs: 1234.5 };
  const saved = (uploadId: string, startedAt = Date.now()): SavedUpload => ({
    uploadId,
    url: "http://grid.test/",
    file: version.file,
    bytes: 10,
    mtimeMs: 1234.5,
    partBytes: 5,
    startedAt,
  });

  it("lives in $COLMEIA_STATE_DIR, else ~/.colmeia", () => {
    expect(stateDir({ COLMEIA_STATE_DIR: "/x/state" })).toBe("/x/state");
    expect(stateDir({})).toMatch(/\.colmeia$/);
  });

  it("finds an upload again by coordinator, path, size and mtime, and forgets it when dropped", () => {
    const state = uploadState(join(work, "a"));
    const key = uploadKey("http://grid.test", version);
    expect(state.find(key)).toBeUndefined();
    state.save(key, saved("u_1"));
    expect(uploadState(join(work, "a")).find(uploadKey("http://grid.test/", version))).toMatchObject({ uploadId: "u_1", url: "http://grid.test" });
    expect(state.find(uploadKey("http://other.test", version))).toBeUndefined();
    expect(state.find(uploadKey("http://grid.test", { ...version, mtimeMs: 99 }))).toBeUndefined();
    state.drop("u_1");
    expect(state.find(key)).toBeUndefined();
  });

  it("tells uploads of an older version of the same file apart, and drops entries past the upload lifetime", () => {
    let now = 1_000_000_000;
    const state = uploadState(join(work, "b"), () => now);
    state.save(uploadKey("http://grid.test", version), saved("u_old", now));
    const changed = { ...version, bytes: 11 };
    expect(state.stale("http://grid.test", changed).map((u) => u.uploadId)).toEqual(["u_old"]);
    expect(state.stale("http://grid.test", version)).toEqual([]);
    now += LIMITS.uploadTtlMs;
    state.save(uploadKey("http://grid.test", changed), saved("u_new", now));
    expect(Object.values(JSON.parse(readFileSync(state.path, "utf8")).uploads).map((u) => (u as SavedUpload).uploadId)).toEqual(["u_new"]);
  });

  it("treats an unreadable state file as empty", () => {
    const state = uploadState(join(work, "c"));
    state.save("k", saved("u_1"));
    writeFileSync(state.path, "{not json");
    expect(state.find("k")).toBeUndefined();
    state.save("k2", saved("u_2"));
    expect(state.find("k2")).toMatchObject({ uploadId: "u_2" });
  });
});

describe("uploadHash", () => {
  it("hashes committed attempts only, and catches up from the file for parts sent elsewhere", async () => {
    const file = join(work, "bytes.bin");
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    const hash = uploadHash();
    await hash.catchUp(file, 300);
    const lost = hash.attempt();
    for await (const chunk of fileRange(file, 300, 600, lost)) void chunk;
    const kept = hash.attempt();
    for await (const chunk of fileRange(file, 300, 600, kept)) void chunk;
    hash.commit(kept, 600);
    await hash.catchUp(file, 1000);
    expect(hash.bytes).toBe(1000);
    expect(hash.hex()).toBe(createHash("sha256").update(bytes).digest("hex"));
  });
});

describe("jobSpecs with --dataset", () => {
  const id = `d_${"a1".repeat(16)}`;
  it("reads a dataset job with --chunk as chunkBytes", () => {
    expect(jobSpecs("wordcount", { dataset: id, chunk: "1MiB", params: "{}" })).toEqual([
      { kernel: "wordcount", params: {}, dataset: { id, chunkBytes: MiB } },
    ]);
    expect(jobSpecs("wordcount", { dataset: id })).toEqual([{ kernel: "wordcount", dataset: { id } }]);
  });
  it.each([
    [{ dataset: id, range: "0:10:1" }, /--dataset cannot go with --range/],
    [{ dataset: id, file: "x.txt", shards: "s.jsonl" }, /--dataset cannot go with --shards, --file/],
    [{ dataset: "d_nope" }, /--dataset must be a dataset id/],
    [{ dataset: id, chunk: "1KiB" }, /--chunk must be between 4 KiB and 256.0 MiB/],
    [{ range: "0:10:1", chunk: "1MiB" }, /--chunk only applies to --file and --dataset/],
    [{}, /--dataset d_/],
  ])("refuses %j with a usage error", (flags, message) => {
    expect(() => jobSpecs("wordcount", flags)).toThrow(UsageError);
    expect(() => jobSpecs("wordcount", flags)).toThrow(message);
  });
});

describe("uploadFile in parts", () => {
  const bytes = Buffer.from("0123456789");
  const file = join(work, "ten.bin");
  writeFileSync(file, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");

  /** A coordinator that takes parts in order and fails the calls listed in `failures` first. */
  function fakeClient(failures: { part?: ColmeiaError[]; complete?: ColmeiaError[] }) {
    const calls: string[] = [];
    let received = 0;
    const upload = (): UploadAnswer => ({ uploadId: "u_1", name: "ten.bin", bytes: 10, partBytes: 5, parts: 2, received, expiresAt: 0 });
    const client = {
      startUpload: async () => upload(),
      uploadStatus: async () => (calls.push("status"), upload()),
      uploadPart: async (_id: string, part: number, source: UploadSource) => {
        calls.push(`part ${part}`);
        for await (const chunk of (source as () => AsyncIterable<Uint8Array>)()) void chunk;
        const failure = failures.part?.shift();
        if (failure) throw failure;
        received = part;
        return upload();
      },
      completeUpload: async (): Promise<DatasetAnswer> => {
        calls.push("complete");
        const failure = failures.complete?.shift();
        if (failure) throw failure;
        return { id: "d_1", name: "ten.bin", bytes: 10, sha256, createdAt: 0 };
      },
    };
    return { client: client as unknown as ColmeiaClient, calls };
  }

  const run = (client: ColmeiaClient, dir: string) =>
    uploadFile({
      client,
      url: "http://grid.test",
      file,
      name: "ten.bin",
      partBytes: 5,
      state: uploadState(join(work, dir)),
      progress: () => ({ update() {}, stop() {} }),
      log: () => {},
      signal: new AbortController().signal,
    });

  it("retries what the client calls retryable after the coordinator's retry-after, parts and completion alike", async () => {
    const { client, calls } = fakeClient({
      part: [new ColmeiaError(503, "unavailable", "busy", 20)],
      complete: [new ColmeiaError(429, "rate_limited", "slow down", 10), new ColmeiaError(502, "http_error", "HTTP 502", 5)],
    });
    const started = Date.now();
    expect(await run(client, "retry")).toMatchObject({ id: "d_1", sha256 });
    expect(calls).toEqual(["part 1", "status", "part 1", "part 2", "complete", "complete", "complete"]);
    // The waits were the coordinator's 20, 10 and 5 ms, not the backoff's 1 s and more.
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("gives up at once on an error that trying again cannot fix", async () => {
    const { client, calls } = fakeClient({ part: [new ColmeiaError(400, "bad_part", "no")], complete: [new ColmeiaError(410, "upload_gone", "gone")] });
    await expect(run(client, "refused")).rejects.toMatchObject({ status: 400, retryable: false });
    expect(calls).toEqual(["part 1"]);
    const again = fakeClient({ complete: [new ColmeiaError(403, "forbidden", "no")] });
    await expect(run(again.client, "refused-complete")).rejects.toMatchObject({ status: 403 });
    expect(again.calls).toEqual(["part 1", "part 2", "complete"]);
  });
});

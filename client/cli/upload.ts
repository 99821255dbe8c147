import type { Hash } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ColmeiaError, isStatus, type ColmeiaClient, type DatasetAnswer, type UploadAnswer } from "../api/index.ts";
import { EXIT, ExitWith, UsageError } from "./exit.ts";
import { fileRange, uploadHash, type UploadHash } from "./file-parts.ts";
import { formatSize } from "./input/size.ts";
import type { ByteProgress } from "./upload-progress.ts";
import { partRange, uploadPlan } from "./upload-plan.ts";
import { uploadKey, type FileVersion, type UploadState } from "./upload-state.ts";

/** What {@link uploadFile} needs. */
export interface UploadRun {
  client: ColmeiaClient;
  /** The coordinator's URL: part of the key an unfinished upload is saved under. */
  url: string;
  file: string;
  name: string;
  /** `--part-size`, when given. */
  partBytes?: number;
  state: UploadState;
  progress: (total: number) => ByteProgress;
  /** A line for the person at the terminal; `always` ones are shown with `--json` too. */
  log: (line: string, always?: boolean) => void;
  signal: AbortSignal;
}

/** Attempts at one part (or at completing) before giving up; the upload stays resumable. */
const ATTEMPTS = 5;

function fileVersion(file: string): FileVersion {
  let info;
  try {
    info = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  if (!info.isFile()) throw new UsageError(`${file} is not a file`);
  if (info.size === 0) throw new UsageError(`${file} is empty`);
  return { file: resolve(file), bytes: info.size, mtimeMs: info.mtimeMs };
}

/**
 * Failures after which the same part may well go through: whatever the client calls retryable
 * (the network, `429`, `5xx`), and for parts also a race on the order (`409`) or a body cut short.
 */
function worthRetrying(error: unknown): error is ColmeiaError {
  return error instanceof ColmeiaError && (error.retryable || error.status === 409 || error.code === "body_length_mismatch");
}

/** Waits before another attempt: as long as the coordinator asked (up to a minute), else longer after each failure. */
const backoff = (failures: number, error: ColmeiaError, signal: AbortSignal) =>
  delay(error.retryAfterMs === undefined ? Math.min(500 * 2 ** failures, 8000) : Math.min(error.retryAfterMs, 60_000), undefined, { signal });

/** The dataset, once its SHA-256 at the coordinator is the file's own. */
function verified(dataset: DatasetAnswer, hash: UploadHash, file: string): DatasetAnswer {
  const local = hash.hex();
  if (dataset.sha256 === local) return dataset;
  throw new Error(
    `the coordinator's SHA-256 of ${dataset.id} is ${dataset.sha256}, but ${file} hashes to ${local}: ` +
      `did the file change while uploading? (colmeia dataset rm ${dataset.id} deletes it)`,
  );
}

/**
 * `colmeia dataset upload`: sends a file in one streamed body, or in parts that a rerun resumes
 * after an interruption (the upload id is saved under the file's path, size and mtime). Hashes
 * the file as it goes and checks the coordinator's SHA-256 against it.
 */
export async function uploadFile(run: UploadRun): Promise<DatasetAnswer> {
  const version = fileVersion(run.file);
  const key = uploadKey(run.url, version);
  for (const stale of run.state.stale(run.url, version)) {
    run.log(`${run.file} changed since upload ${stale.uploadId} began; dropping that upload`);
    await run.client.abortUpload(stale.uploadId).catch(() => {});
    run.state.drop(stale.uploadId);
  }
  const saved = run.state.find(key);
  let upload = saved && (await resumable(run, saved.uploadId, version));
  if (!upload) {
    const plan = uploadPlan(version.bytes, run.partBytes);
    if (plan.mode === "single") return single(run, version);
    upload = await run.client.startUpload({ name: run.name, bytes: version.bytes, partBytes: plan.partBytes });
    const { uploadId, partBytes } = upload;
    run.state.save(key, { uploadId, url: run.url, file: version.file, bytes: version.bytes, mtimeMs: version.mtimeMs, partBytes, startedAt: Date.now() });
    run.log(`Uploading ${run.name} (${formatSize(version.bytes)}) in ${upload.parts} parts of ${formatSize(partBytes)} as upload ${uploadId}`);
  }
  return parts(run, version, upload);
}

/** The saved upload as the coordinator has it, or undefined (forgotten) when it cannot be resumed. */
async function resumable(run: UploadRun, uploadId: string, version: FileVersion): Promise<UploadAnswer | undefined> {
  let upload: UploadAnswer;
  try {
    upload = await run.client.uploadStatus(uploadId);
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
    run.state.drop(uploadId);
    run.log(`Upload ${uploadId} is gone (unfinished uploads expire after 24 hours); starting over`);
    return undefined;
  }
  if (upload.bytes !== version.bytes) {
    run.state.drop(uploadId);
    await run.client.abortUpload(uploadId).catch(() => {});
    return undefined;
  }
  run.log(
    upload.received < upload.parts
      ? `Resuming upload ${uploadId} at part ${upload.received + 1} of ${upload.parts}`
      : `All ${upload.parts} parts of upload ${uploadId} are in; completing it`,
  );
  return upload;
}

/** One streamed `POST /v1/datasets`. */
async function single(run: UploadRun, version: FileVersion): Promise<DatasetAnswer> {
  const hash = uploadHash();
  let attempt: Hash | undefined;
  const bar = run.progress(version.bytes);
  try {
    const dataset = await run.client.uploadDataset(run.name, () => fileRange(version.file, 0, version.bytes, (attempt = hash.attempt())), {
      bytes: version.bytes,
      onProgress: (sent) => bar.update(sent),
      signal: run.signal,
    });
    hash.commit(attempt!, version.bytes);
    return verified(dataset, hash, run.file);
  } catch (error) {
    if (!run.signal.aborted) throw error;
    run.log("Interrupted; nothing was kept (a file this small goes up in one piece: run the command again)", true);
    throw new ExitWith(EXIT.interrupted);
  } finally {
    bar.stop();
  }
}

/** Sends parts `received + 1 ..` in order, retrying a failed one from where the coordinator stands, then completes. */
async function parts(run: UploadRun, version: FileVersion, upload: UploadAnswer): Promise<DatasetAnswer> {
  const { uploadId, partBytes } = upload;
  const hash = uploadHash();
  let received = upload.received;
  await hash.catchUp(version.file, Math.min(received * partBytes, version.bytes));
  const bar = run.progress(version.bytes);
  bar.update(hash.bytes);
  let failures = 0;
  try {
    while (received < upload.parts) {
      const n = received + 1;
      const { start, end } = partRange(n, partBytes, version.bytes);
      let attempt: Hash | undefined;
      try {
        const answer = await run.client.uploadPart(uploadId, n, () => fileRange(version.file, start, end, (attempt = hash.attempt())), {
          bytes: end - start,
          onProgress: (sent) => bar.update(start + sent),
          signal: run.signal,
        });
        hash.commit(attempt!, end);
        received = answer.received;
        failures = 0;
      } catch (error) {
        if (run.signal.aborted || !worthRetrying(error) || ++failures >= ATTEMPTS) throw error;
        await backoff(failures, error, run.signal);
        // The part may have arrived with its answer lost: go on from where the coordinator stands.
        received = (await run.client.uploadStatus(uploadId)).received;
        await hash.catchUp(version.file, Math.min(received * partBytes, version.bytes));
      }
    }
    const dataset = await complete(run, uploadId, version, hash);
    run.state.drop(uploadId);
    return verified(dataset, hash, run.file);
  } catch (error) {
    // Gone (expired, aborted elsewhere): a rerun starts over.
    if (isStatus(error, 404)) run.state.drop(uploadId);
    if (!run.signal.aborted && !worthRetrying(error)) throw error;
    const kept = `upload ${uploadId} keeps ${received} of ${upload.parts} parts for 24 hours`;
    run.log(`${run.signal.aborted ? "Interrupted" : "Stopped"}; ${kept}: run the same command again to resume`, true);
    if (run.signal.aborted) throw new ExitWith(EXIT.interrupted);
    throw error;
  } finally {
    bar.stop();
  }
}

/** `POST .../complete`, retried over a flaky network; an answer lost after success is found in the list. */
async function complete(run: UploadRun, uploadId: string, version: FileVersion, hash: UploadHash): Promise<DatasetAnswer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run.client.completeUpload(uploadId);
    } catch (error) {
      if (attempt > 1 && isStatus(error, 404)) {
        const found = (await run.client.datasets()).datasets.find((d) => d.sha256 === hash.hex() && d.bytes === version.bytes);
        if (found) return found;
      }
      if (run.signal.aborted || !(error instanceof ColmeiaError) || !error.retryable || attempt >= ATTEMPTS) throw error;
      await backoff(attempt, error, run.signal);
    }
  }
}

/**
 * Dataset shards by the contract's rule: shard i holds the records whose first byte lies in
 * `[i*chunkBytes, (i+1)*chunkBytes)`. A record ends at a `\n` that is not inside a quoted CSV
 * field (those positions are `quoted`, sorted; empty for JSON Lines), so every record belongs to
 * exactly one shard and none is cut. Resolving a boundary reads forward from it only as far as
 * the next record end, so creating a job over any size of dataset reads nothing at all.
 */

const NEWLINE = 0x0a;
const FIRST_WINDOW = 16 * 1024;
const MAX_WINDOW = 1024 * 1024;

/** The dataset's object is not in storage (deleted since the job started), as opposed to a failed read. */
export class DatasetMissing extends Error {
  constructor(key: string) {
    super(`dataset object ${key} is missing`);
    this.name = "DatasetMissing";
  }
}

/** A dataset as shard reading needs it. */
export interface StoredDataset {
  key: string;
  bytes: number;
  /** Newlines inside quoted CSV fields (sorted byte positions); only CSV jobs pass them. */
  quoted?: readonly number[];
}

function isQuoted(quoted: readonly number[] | undefined, pos: number): boolean {
  if (!quoted?.length) return false;
  let lo = 0;
  let hi = quoted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = quoted[mid]!;
    if (v === pos) return true;
    if (v < pos) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The first record start at or after `pos`: `pos` itself if a record ends just before it. */
export async function recordStart(blobs: R2Bucket, ds: StoredDataset, pos: number): Promise<number> {
  if (pos <= 0) return 0;
  if (pos >= ds.bytes) return ds.bytes;
  let at = pos - 1;
  let window = FIRST_WINDOW;
  while (at < ds.bytes) {
    const length = Math.min(window, ds.bytes - at);
    const object = await blobs.get(ds.key, { range: { offset: at, length } });
    if (!object) throw new DatasetMissing(ds.key);
    const bytes = new Uint8Array(await object.arrayBuffer());
    for (let n = bytes.indexOf(NEWLINE); n >= 0; n = bytes.indexOf(NEWLINE, n + 1)) {
      if (!isQuoted(ds.quoted, at + n)) return at + n + 1;
    }
    at += bytes.length;
    window = Math.min(window * 2, MAX_WINDOW);
  }
  return ds.bytes;
}

/** The byte range `[start, end)` of the shard holding the records that start in `[offset, offset + length)`. */
export async function shardBytes(blobs: R2Bucket, ds: StoredDataset, offset: number, length: number): Promise<{ start: number; end: number }> {
  const [start, end] = await Promise.all([recordStart(blobs, ds, offset), recordStart(blobs, ds, offset + length)]);
  return { start, end: Math.max(start, end) };
}

async function readRange(blobs: R2Bucket, ds: StoredDataset, start: number, end: number): Promise<R2ObjectBody | undefined> {
  if (end === start) return undefined;
  const object = await blobs.get(ds.key, { range: { offset: start, length: end - start } });
  if (!object) throw new DatasetMissing(ds.key);
  return object;
}

/** The shard's bytes as a stream (null for a shard that holds no record), and how many there are. */
export async function shardStream(blobs: R2Bucket, ds: StoredDataset, offset: number, length: number): Promise<{ body: ReadableStream | null; bytes: number }> {
  const { start, end } = await shardBytes(blobs, ds, offset, length);
  return { body: (await readRange(blobs, ds, start, end))?.body ?? null, bytes: end - start };
}

/** The shard's bytes as text (UTF-8), for the coordinator's own checks: the very bytes volunteers get. */
export async function shardText(blobs: R2Bucket, ds: StoredDataset, offset: number, length: number): Promise<string> {
  const { start, end } = await shardBytes(blobs, ds, offset, length);
  return (await (await readRange(blobs, ds, start, end))?.text()) ?? "";
}

/** The first record's text without its line end (a CSV header), or undefined when it exceeds `max` bytes. */
export async function firstRecord(blobs: R2Bucket, ds: StoredDataset, max: number): Promise<string | undefined> {
  const object = await blobs.get(ds.key, { range: { offset: 0, length: Math.min(ds.bytes, max + 1) } });
  if (!object) throw new DatasetMissing(ds.key);
  const bytes = new Uint8Array(await object.arrayBuffer());
  let end = -1;
  for (let n = bytes.indexOf(NEWLINE); n >= 0; n = bytes.indexOf(NEWLINE, n + 1)) {
    if (!isQuoted(ds.quoted, n)) {
      end = n;
      break;
    }
  }
  if (end < 0 && bytes.length > max) return undefined;
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end)).replace(/\r$/, "");
}

import { LIMITS } from "../../shared/limits.ts";
import { UsageError } from "./exit.ts";
import { formatSize } from "./input/size.ts";

/** Default `--part-size` of multipart uploads. */
export const DEFAULT_PART = "32MiB";
const DEFAULT_PART_BYTES = 32 * 1024 * 1024;
const MiB = 1024 * 1024;

/** How a file goes up: in one body, or in parts of `partBytes`. */
export type UploadPlan = { mode: "single" } | { mode: "parts"; partBytes: number; parts: number };

/**
 * How to upload `bytes`: files up to `LIMITS.datasetBodyBytes` (95 MiB) in one body, larger ones
 * in parts of 32 MiB (more when 10,000 parts would not hold the file). An explicit `partBytes`
 * (`--part-size`) sends in parts whatever is larger than one part.
 * @example uploadPlan(200 * 2 ** 20) // { mode: "parts", partBytes: 33554432, parts: 7 }
 */
export function uploadPlan(bytes: number, partBytes?: number): UploadPlan {
  if (bytes > LIMITS.datasetBytes) throw new UsageError(`the file is ${formatSize(bytes)}; a dataset may be at most ${formatSize(LIMITS.datasetBytes)}`);
  if (partBytes === undefined) {
    if (bytes <= LIMITS.datasetBodyBytes) return { mode: "single" };
    // Whole MiB, at least the default, enough that the file fits in the most parts allowed.
    const size = Math.max(DEFAULT_PART_BYTES, Math.ceil(bytes / LIMITS.uploadParts / MiB) * MiB);
    if (size > LIMITS.partBytes.max) {
      throw new UsageError(`the file is ${formatSize(bytes)}: more than ${LIMITS.uploadParts} parts of at most ${formatSize(LIMITS.partBytes.max)}`);
    }
    return { mode: "parts", partBytes: size, parts: Math.ceil(bytes / size) };
  }
  if (bytes <= partBytes) return { mode: "single" };
  const parts = Math.ceil(bytes / partBytes);
  if (parts > LIMITS.uploadParts) {
    const least = Math.ceil(bytes / LIMITS.uploadParts / MiB) * MiB;
    throw new UsageError(`--part-size ${formatSize(partBytes)} makes ${parts} parts, over ${LIMITS.uploadParts}: use at least ${formatSize(least)}`);
  }
  return { mode: "parts", partBytes, parts };
}

/** Bytes `[start, end)` of part `n` (1-based) of a file of `bytes` in parts of `partBytes`. */
export function partRange(n: number, partBytes: number, bytes: number): { start: number; end: number } {
  const start = (n - 1) * partBytes;
  return { start, end: Math.min(start + partBytes, bytes) };
}

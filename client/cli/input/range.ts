import { MAX_RANGE_END } from "../../../shared/kernels/registry.ts";
import { UsageError } from "../exit.ts";

/** A range job's `range`: shard i covers [start + i*step, min(start + (i+1)*step, end)). */
export interface RangeSpec {
  start: number;
  end: number;
  step: number;
}

function integer(text: string, what: string): number {
  const n = Number(text.replaceAll("_", ""));
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`--range ${what} must be a whole number >= 0, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * Parses `start:end:step` (whole numbers; `_` separators and `1e6` are fine).
 * @example parseRange("0:1_000_000:10000") // { start: 0, end: 1000000, step: 10000 }
 */
export function parseRange(text: string): RangeSpec {
  const parts = text.split(":");
  if (parts.length !== 3) throw new UsageError(`--range must be start:end:step (e.g. 0:1000000:10000), got ${JSON.stringify(text)}`);
  const [start, end, step] = [integer(parts[0]!, "start"), integer(parts[1]!, "end"), integer(parts[2]!, "step")];
  if (start > end) throw new UsageError(`--range start (${start}) must not exceed end (${end})`);
  if (end > MAX_RANGE_END) throw new UsageError(`--range end must be at most 2^53`);
  if (step < 1) throw new UsageError("--range step must be at least 1");
  return { start, end, step };
}

/** How many shards a range makes. */
export function rangeShards({ start, end, step }: RangeSpec): number {
  return Math.ceil((end - start) / step);
}

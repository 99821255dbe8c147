import { UsageError } from "../exit.ts";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/**
 * Bytes in a size such as `64KiB`, `1.5MiB`, `500kB` or `4096` (KiB/MiB/GiB and bare K/M/G
 * are powers of 1024; kB/MB/GB powers of 1000).
 * @example parseSize("64KiB") // 65536
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[match?.[2]?.toLowerCase() ?? "?"];
  if (!match || unit === undefined) throw new UsageError(`not a size: ${JSON.stringify(text)} (e.g. 64KiB, 1MiB, 500kB)`);
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1) throw new UsageError(`size must be at least 1 byte: ${JSON.stringify(text)}`);
  return bytes;
}

/** A byte count for people: `64 KiB`, `8.0 MiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(bytes % 1024 ? 1 : 0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/**
 * A size given to `flag` that must lie in `[min, max]`, or a usage error naming the flag and bounds.
 * @example sizeFlag("--part-size", "32MiB", 5 * 2 ** 20, 95 * 2 ** 20) // 33554432
 */
export function sizeFlag(flag: string, text: string, min: number, max: number): number {
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
  if (bytes < min || bytes > max) throw new UsageError(`${flag} must be between ${formatSize(min)} and ${formatSize(max)}, got ${JSON.stringify(text)}`);
  return bytes;
}

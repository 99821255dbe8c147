import type { DatasetAnswer } from "../api/index.ts";
import { formatAgo, formatCount, formatTable } from "./format.ts";
import { formatSize } from "./input/size.ts";

/** Datasets as an aligned table: id, name, size, the start of the SHA-256, when uploaded. */
export function formatDatasetList(datasets: readonly DatasetAnswer[], now = Date.now()): string {
  if (datasets.length === 0) return "No datasets yet. Upload one with: colmeia dataset upload FILE";
  return formatTable([
    ["ID", "NAME", "SIZE", "SHA256", "CREATED"],
    ...datasets.map((d) => [d.id, d.name, formatSize(d.bytes), d.sha256.slice(0, 12), formatAgo(d.createdAt, now)]),
  ]);
}

/** One dataset as a few readable lines. */
export function formatDataset(d: DatasetAnswer, now = Date.now()): string {
  return [
    `dataset  ${d.id}`,
    `name     ${d.name}`,
    `size     ${formatSize(d.bytes)} (${formatCount(d.bytes)} bytes)`,
    `sha256   ${d.sha256}`,
    `created  ${new Date(d.createdAt).toISOString()} (${formatAgo(d.createdAt, now)})`,
  ].join("\n");
}

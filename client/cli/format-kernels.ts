import type { KernelAnswer } from "../api/index.ts";
import { formatAgo, formatCount, formatTable } from "./format.ts";
import { formatSize } from "./input/size.ts";

/** `sum`, or `inside:sum, peak:max` for a per-field reduce. */
export function describeReduce(reduce: unknown): string {
  if (typeof reduce === "string") return reduce;
  if (reduce && typeof reduce === "object")
    return Object.entries(reduce)
      .map(([field, op]) => `${field}:${String(op)}`)
      .join(", ");
  return "?";
}

const isBuiltin = (k: KernelAnswer) => "builtin" in k && k.builtin === true;

/** Kernels as an aligned table: built-ins first (as the coordinator lists them), then published ones. */
export function formatKernelList(kernels: readonly KernelAnswer[], now = Date.now()): string {
  const rows = [
    ["ID", "NAME", "LANGUAGE", "REDUCE", "SIZE", "PUBLISHED"],
    ...kernels.map((k) =>
      isBuiltin(k)
        ? [k.id, k.name, "built-in", "", "", ""]
        : [
            k.id,
            k.name,
            `${String(k.language)}/1`,
            describeReduce(k.reduce),
            typeof k.bytes === "number" ? formatSize(k.bytes) : "",
            typeof k.createdAt === "number" ? formatAgo(k.createdAt, now) : "",
          ],
    ),
  ];
  const table = formatTable(rows);
  const mine = kernels.filter((k) => !isBuiltin(k)).length;
  return mine ? table : `${table}\n\nNo kernels of your own yet. Publish one with: colmeia kernel publish ./kernel.ts --reduce sum`;
}

/** One kernel's manifest as a few readable lines. */
export function formatKernel(k: KernelAnswer, now = Date.now()): string {
  if (isBuiltin(k)) return [`kernel   ${k.id} (built-in)`, ...(k.description ? [`         ${k.description}`] : [])].join("\n");
  const lines = [
    `kernel   ${k.id}`,
    `name     ${k.name}`,
    `language ${String(k.language)}/1, ${formatCount(Number(k.bytes))} bytes, sha256 ${String(k.sha256)}`,
    `reduce   ${describeReduce(k.reduce)}`,
    ...(k.compare ? [`compare  ${JSON.stringify(k.compare)}`] : []),
    ...(k.output ? [`output   ${JSON.stringify(k.output)}`] : []),
    ...(k.description ? [`about    ${k.description}`] : []),
    ...(typeof k.createdAt === "number" ? [`created  ${new Date(k.createdAt).toISOString()} (${formatAgo(k.createdAt, now)})`] : []),
  ];
  return lines.join("\n");
}

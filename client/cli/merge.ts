import { kernels } from "../../shared/kernels/registry.ts";
import type { ColmeiaClient } from "../api/index.ts";

/**
 * The results of several jobs of one kernel folded into one with that kernel's own merge, as
 * if they had been one job (used for inputs submitted as several jobs with `--split-jobs`).
 */
export async function mergedResult(client: ColmeiaClient, ids: readonly string[]): Promise<unknown> {
  const statuses = await Promise.all(ids.map((id) => client.status(id)));
  const names = new Set(statuses.map((s) => s.kernel));
  if (names.size > 1) throw new Error(`cannot merge results of different kernels (${[...names].join(", ")})`);
  const name = statuses[0]!.kernel;
  const kernel = kernels.get(name);
  if (!kernel) throw new Error(`cannot merge results of kernel ${name} here: this colmeia does not know it`);
  const results = await Promise.all(ids.map((id) => client.result(id)));
  return results.reduce((acc, r) => kernel.reduce(acc, r.result), kernel.identity());
}

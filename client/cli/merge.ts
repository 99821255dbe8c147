import { kernels } from "../../shared/kernels/registry.ts";
import { reduceFinal, reduceIdentity, reduceStep } from "../../shared/reduce.ts";
import { ReduceSpec } from "../../shared/schemas.ts";
import type { ColmeiaClient } from "../api/index.ts";

/**
 * The results of several jobs of one kernel folded into one as if they had been one job (used for
 * inputs submitted as several jobs with `--split-jobs`): a built-in's own merge, or a published
 * kernel's declared `reduce` (for `collect`, the parts' outputs one after the other).
 */
export async function mergedResult(client: ColmeiaClient, ids: readonly string[]): Promise<unknown> {
  const statuses = await Promise.all(ids.map((id) => client.status(id)));
  const names = new Set(statuses.map((s) => s.kernel));
  if (names.size > 1) throw new Error(`cannot merge results of different kernels (${[...names].join(", ")})`);
  const name = statuses[0]!.kernel;
  const results = (await Promise.all(ids.map((id) => client.result(id)))).map((r) => r.result);
  const kernel = kernels.get(name);
  if (kernel?.reduceWith) {
    // Its merge depends on the job's params (which metric is a sum, a min or a max), which a status does not carry.
    throw new Error(`cannot merge ${name} results of several jobs here; run it as one job (a dataset job has no size limit to split around)`);
  }
  if (kernel) return results.reduce((acc, r) => kernel.reduce(acc, r), kernel.identity());

  const reduce = ReduceSpec.safeParse((await client.getKernel(name)).reduce);
  if (!reduce.success) throw new Error(`cannot merge results of kernel ${name} here: this colmeia does not know how it merges`);
  const spec = reduce.data;
  if (spec === "collect") return { outputs: results.flatMap((r) => (r as { outputs: unknown[] }).outputs) };
  return reduceFinal(
    spec,
    results.reduce((acc, r, i) => reduceStep(spec, acc, r, i), reduceIdentity(spec)),
  );
}

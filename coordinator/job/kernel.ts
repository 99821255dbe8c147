import { agree } from "../../shared/compare.ts";
import { canonicalJson } from "../../shared/canonical.ts";
import { kernels, type Kernel } from "../../shared/kernels/registry.ts";
import { LIMITS } from "../../shared/limits.ts";
import { outputValidator } from "../../shared/output-schema.ts";
import { reduceFinal, reduceIdentity, reduceProblem, reduceStep } from "../../shared/reduce.ts";
import type { CompareSpec, ReduceSpec } from "../../shared/schemas.ts";
import { describeIssues } from "../body.ts";
import type { JobMeta } from "./meta.ts";

/** What a job keeps of a published kernel: enough to validate, compare and merge without its code. */
export interface PublishedRef {
  language: "js" | "wasm";
  sha256: string;
  reduce: ReduceSpec;
  output?: Record<string, unknown>;
  compare?: CompareSpec;
}

/**
 * A kernel as one job uses it, built-in or published: output validation, the coordinator's own
 * computation where it may check a shard, and the merge. Published kernels never run here.
 */
export interface JobKernel {
  name: string;
  /** The output as canonical JSON, or the reason it is refused (a 400). */
  validate(output: unknown): { text: string } | { problem: string };
  /** Whether the coordinator may compute this input itself (cheap, and its code is ours). */
  checkable(input: unknown): boolean;
  compute(input: unknown, params: unknown): unknown;
  identity(): unknown;
  /** Folds shard `idx`'s accepted output in (may mutate and return `acc`); throws on a shape conflict. */
  reduce(acc: unknown, next: unknown, idx: number): unknown;
  /** The merged result as served. */
  final(acc: unknown): unknown;
  /** Tolerance under which outputs agree; undefined: identical canonical JSON only. */
  compare?: CompareSpec;
  /** Whether two outputs (canonical JSON texts) agree under `compare`. */
  agrees(a: string, b: string): boolean;
}

const sized = (text: string): { text: string } | { problem: string } =>
  text.length > LIMITS.outputBytes ? { problem: `output exceeds ${LIMITS.outputBytes} characters` } : { text };

function builtIn(kernel: Kernel, params: unknown): JobKernel {
  // Some built-ins merge by their params (records.aggregate: which metric is a sum, min or max).
  const fold = kernel.reduceWith?.(params) ?? ((acc: unknown, next: unknown) => kernel.reduce(acc, next));
  return {
    name: kernel.name,
    validate(output) {
      const parsed = kernel.output.safeParse(output);
      if (!parsed.success) return { problem: `output does not fit ${kernel.name}: ${describeIssues(parsed.error)}` };
      const unmergeable = kernel.outputProblem?.(parsed.data, params);
      if (unmergeable) return { problem: `output does not fit ${kernel.name}: ${unmergeable}` };
      return sized(canonicalJson(parsed.data));
    },
    checkable: (input) => kernel.checkable(input),
    compute: (input, params) => kernel.compute(input, params),
    identity: () => kernel.identity(),
    reduce: (acc, next) => fold(acc, next),
    final: (acc) => acc,
    agrees: (a, b) => a === b,
  };
}

function published(name: string, ref: PublishedRef): JobKernel {
  const schema = ref.output ? outputValidator(ref.output) : undefined;
  return {
    name,
    validate(output) {
      if (output === undefined) return { problem: "output is missing" };
      let text: string;
      try {
        text = canonicalJson(output);
      } catch (err) {
        return { problem: `output is not JSON: ${(err as Error).message}` };
      }
      const wrong = schema?.(output) ?? reduceProblem(ref.reduce, output);
      return wrong ? { problem: `output of ${name} refused: ${wrong}` } : sized(text);
    },
    checkable: () => false,
    compute: () => {
      throw new Error("the coordinator never runs published kernels");
    },
    identity: () => reduceIdentity(ref.reduce),
    reduce: (acc, next, idx) => reduceStep(ref.reduce, acc, next, idx),
    final: (acc) => reduceFinal(ref.reduce, acc),
    ...(ref.compare && { compare: ref.compare }),
    agrees: (a, b) => a === b || (ref.compare !== undefined && agree(JSON.parse(a), JSON.parse(b), ref.compare)),
  };
}

/**
 * A kernel reading dataset shards: inputs are `{dataset, offset, length}` until their bytes are
 * read. The coordinator checks a shard of a built-in kernel when it is small enough to read.
 */
function overDataset(base: JobKernel, builtInKernel: boolean): JobKernel {
  return {
    ...base,
    checkable: (input) => builtInKernel && (input as { length: number }).length <= LIMITS.checkableShardBytes,
  };
}

/** The kernel a job's meta names. */
export function jobKernel(meta: Pick<JobMeta, "kernel" | "published" | "dataset" | "params">): JobKernel {
  if (meta.published) {
    const kernel = published(meta.kernel, meta.published);
    return meta.dataset ? overDataset(kernel, false) : kernel;
  }
  const kernel = kernels.get(meta.kernel);
  if (!kernel) throw new Error(`job names unknown built-in kernel ${meta.kernel}`);
  return meta.dataset ? overDataset(builtIn(kernel, meta.params), true) : builtIn(kernel, meta.params);
}

import type { ReduceSpec } from "./schemas.ts";

/**
 * The declarative merge of published kernels, run by the coordinator (which never runs their code):
 * `sum`, `min` or `max` on every number key by key, one op per top-level field, or `collect`.
 * Accumulators are plain JSON: they are checkpointed with `JSON.stringify` and parsed back.
 */

type Op = "sum" | "min" | "max";
type Obj = Record<string, unknown>;

/** Two outputs whose shapes cannot merge at some key (a number on one side, an object on the other). */
export class MergeConflict extends Error {
  override name = "MergeConflict";
}

/** Deepest object nesting a sum/min/max output may have (keeps every walk here well inside the stack). */
const MAX_DEPTH = 64;

const VERB: Record<Op, string> = { sum: "summed", min: "merged by min", max: "merged by max" };

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
// Plain assignment of "__proto__" would replace the prototype instead of adding a key.
const setOwn = (o: Obj, key: string, value: unknown) => Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (isObj(v)) return "an object";
  if (typeof v === "number") return "a number";
  if (typeof v === "string" || typeof v === "boolean") return `a ${typeof v}`;
  return "a non-JSON value";
}

function numbersProblem(op: Op, value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path || "output"}: a non-finite number cannot be ${VERB[op]}`;
  if (!isObj(value)) return `${path || "output"}: ${describe(value)} cannot be ${VERB[op]}`;
  if (depth >= MAX_DEPTH) return `${path || "output"}: objects nested deeper than ${MAX_DEPTH} levels cannot be ${VERB[op]}`;
  for (const key of Object.keys(value)) {
    const problem = numbersProblem(op, value[key], join(path, key), depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Why this one output cannot be merged by `spec`, naming the path, or undefined when it can.
 * @example reduceProblem({ counts: "sum" }, { counts: { a: "x" } }) // "counts.a: a string cannot be summed"
 */
export function reduceProblem(spec: ReduceSpec, output: unknown): string | undefined {
  if (spec === "collect") return undefined;
  if (typeof spec === "string") return numbersProblem(spec, output, "", 0);
  if (!isObj(output)) return `output: ${describe(output)} cannot be merged field by field (an object is needed)`;
  for (const key of Object.keys(output)) {
    const op = own(spec, key) as Op | undefined;
    if (op === undefined) return `${key}: no reduce is named for this field`;
    const problem = numbersProblem(op, output[key], key, 1);
    if (problem) return problem;
  }
  return undefined;
}

/** The accumulator of no shards: `null` for one op on everything, `{}` for per-field ops, no outputs for collect. */
export function reduceIdentity(spec: ReduceSpec): unknown {
  if (spec === "collect") return { outputs: {} };
  return typeof spec === "string" ? null : {};
}

function combine(op: Op, a: number, b: number): number {
  if (op === "sum") return a + b;
  return op === "min" ? Math.min(a, b) : Math.max(a, b);
}

/** Where `next` cannot merge into `acc` (read-only, so a conflict leaves the accumulator untouched). */
function conflict(acc: unknown, next: unknown, path: string): string | undefined {
  if (acc === undefined || next === undefined) return undefined;
  if (typeof acc === "number" && typeof next === "number") return undefined;
  if (isObj(acc) && isObj(next)) {
    for (const key of Object.keys(next)) {
      const found = conflict(own(acc, key), next[key], join(path, key));
      if (found) return found;
    }
    return undefined;
  }
  return `${path || "output"}: ${describe(acc)} in one output, ${describe(next)} in another`;
}

function merge(op: Op, acc: unknown, next: unknown): unknown {
  if (acc === undefined) return structuredClone(next);
  if (typeof acc === "number") return combine(op, acc, next as number);
  const into = acc as Obj;
  for (const [key, value] of Object.entries(next as Obj)) setOwn(into, key, merge(op, own(into, key), value));
  return into;
}

function collected(acc: unknown): Obj {
  const outputs = isObj(acc) ? own(acc, "outputs") : undefined;
  if (!isObj(outputs)) throw new Error("collect accumulator must be { outputs: {...} }: start from reduceIdentity");
  return outputs;
}

/**
 * Folds shard `shardIndex`'s output into `acc` (may mutate and return it). Throws `MergeConflict`
 * naming the path when the output cannot merge; `acc` is then unchanged.
 */
export function reduceStep(spec: ReduceSpec, acc: unknown, output: unknown, shardIndex: number): unknown {
  if (!Number.isSafeInteger(shardIndex) || shardIndex < 0) throw new Error(`shard index must be a non-negative integer, got ${shardIndex}`);
  const problem = reduceProblem(spec, output);
  if (problem) throw new MergeConflict(problem);
  if (spec === "collect") {
    setOwn(collected(acc), String(shardIndex), output);
    return acc;
  }
  const start = acc ?? (typeof spec === "string" ? undefined : {});
  const found = conflict(start, output, "");
  if (found) throw new MergeConflict(found);
  if (typeof spec === "string") return merge(spec, start, output);
  const into = start as Obj;
  for (const [key, value] of Object.entries(output as Obj)) setOwn(into, key, merge(own(spec, key) as Op, own(into, key), value));
  return into;
}

/**
 * The merged result as served: for collect `{ outputs: [...] }` in shard index order (one entry per
 * collected output, whatever order they were accepted in); otherwise the accumulator itself.
 * `total` (the job's shard count), when given, leaves out indexes at or past it.
 */
export function reduceFinal(spec: ReduceSpec, acc: unknown, total?: number): unknown {
  if (spec !== "collect") return acc;
  const outputs = collected(acc);
  const indexes = Object.keys(outputs)
    .map(Number)
    .filter((i) => Number.isSafeInteger(i) && i >= 0 && (total === undefined || i < total))
    .sort((a, b) => a - b);
  return { outputs: indexes.map((i) => outputs[String(i)]) };
}

import { canonicalJson } from "./canonical.ts";
import type { CompareSpec } from "./schemas.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function close(x: number, y: number, spec: CompareSpec): boolean {
  if (x === y) return true;
  return Math.abs(x - y) <= Math.max(spec.absTol ?? 0, (spec.relTol ?? 0) * Math.max(Math.abs(x), Math.abs(y)));
}

/** Whether two JSON values have the same shape (keys, lengths, types) and every number within tolerance. */
function within(a: unknown, b: unknown, spec: CompareSpec): boolean {
  // An explicit stack: outputs are volunteers' JSON and may nest deeper than the call stack allows.
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair; pair = pending.pop()) {
    const [x, y] = pair;
    if (typeof x === "number" && typeof y === "number") {
      if (!close(x, y, spec)) return false;
    } else if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return false;
      x.forEach((item, i) => pending.push([item, y[i]]));
    } else if (isObj(x) && isObj(y)) {
      const keys = Object.keys(x);
      if (keys.length !== Object.keys(y).length || !keys.every((k) => Object.hasOwn(y, k))) return false;
      for (const k of keys) pending.push([x[k], y[k]]);
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}

/**
 * Whether two outputs agree. Without `spec`, only when their canonical JSON is identical; with it,
 * when they have the same shape and every pair of numbers is within
 * `max(absTol, relTol * max(|x|, |y|))`.
 * @example agree({ pi: 3.14159 }, { pi: 3.1416 }, { absTol: 1e-4 }) // true
 */
export function agree(a: unknown, b: unknown, spec?: CompareSpec): boolean {
  if (spec === undefined) return canonicalJson(a) === canonicalJson(b);
  return within(a, b, spec);
}

// Monte Carlo π as a js/1 kernel: throw points at the unit square, count those inside the
// quarter circle; inside / total tends to π/4. Publish with
//   colmeia kernel publish examples/monte-carlo-pi/kernel.ts --name monte-carlo-pi --reduce sum
// (`colmeia` bundles ./random.ts into the one module volunteers run).
import { uniform } from "./random.ts";

/** A range shard: the samples numbered start, start + 1, ..., end - 1. */
export interface Samples {
  start: number;
  end: number;
}

/** The job's params: which sequence of points to draw (default 1). */
export interface Params {
  seed?: number;
}

/** One shard's count; reduce "sum" adds them up field by field into the job's result. */
export interface Count {
  inside: number;
  total: number;
}

/**
 * Counts the samples of the shard that land inside the quarter circle. Sample i is always the
 * same point (a hash of seed and i), so replicas agree exactly and the result does not depend
 * on how the range was cut into shards.
 */
export function compute(input: Samples, params: Params = {}): Count {
  const { start, end } = input;
  const seed = params.seed ?? 1;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > 2 ** 53) {
    throw new Error(`expected {"start": a, "end": b} with 0 <= a <= b <= 2^53, got ${JSON.stringify(input)}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`params.seed must be an integer, got ${JSON.stringify(seed)}`);
  let inside = 0;
  for (let i = start; i < end; i++) {
    const x = uniform(seed, i, 0);
    const y = uniform(seed, i, 1);
    if (x * x + y * y < 1) inside++;
  }
  return { inside, total: end - start };
}

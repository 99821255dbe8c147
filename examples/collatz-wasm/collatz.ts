// Collatz chain lengths as a js/1 kernel: the twin of assembly/index.ts, the same computation
// in plain TypeScript (publish it with `colmeia kernel publish examples/collatz-wasm/collatz.ts`).

/** Largest x with 3x + 1 <= 2^53: past it JavaScript numbers stop being exact, so both twins stop. */
const LIMIT = 3002399751580330;

/** A range shard: the numbers n with max(start, 1) <= n < end. */
export interface Range {
  start: number;
  end: number;
}

/** One shard's answer; the job merges them with reduce {"maxSteps": "max", "totalSteps": "sum"}. */
export interface ChainStats {
  maxSteps: number;
  totalSteps: number;
}

/** Steps for n to reach 1 (3n + 1 when odd, n / 2 when even). */
function steps(n: number): number {
  let s = 0;
  while (n !== 1) {
    // Parity without `%`: on numbers past 2^31, V8 computes `n % 2` with a slow fmod call
    // (about 4x slower overall); halving and doubling back is exact for every n < 2^53.
    const half = Math.floor(n / 2);
    if (n === 2 * half) {
      n = half;
    } else {
      if (n > LIMIT) throw new Error(`the chain leaves the exact integers (2^53) at ${n}`);
      n = 3 * n + 1;
    }
    s++;
  }
  return s;
}

/** The longest chain and the total number of steps over the range. */
export function compute(input: Range, _params?: unknown): ChainStats {
  const { start, end } = input;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > 2 ** 53) {
    throw new Error(`expected {"start": a, "end": b} with 0 <= a <= b <= 2^53, got ${JSON.stringify(input)}`);
  }
  let maxSteps = 0;
  let totalSteps = 0;
  for (let n = Math.max(start, 1); n < end; n++) {
    const s = steps(n);
    totalSteps += s;
    if (s > maxSteps) maxSteps = s;
  }
  return { maxSteps, totalSteps };
}

/** Latency samples and their summary (exact percentiles: a benchmark run holds at most a few 100k samples). */

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest-rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A growable list of millisecond samples. */
export class Samples {
  #data = new Float64Array(1024);
  #n = 0;

  add(ms: number): void {
    if (this.#n === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.#n++] = ms;
  }

  get count(): number {
    return this.#n;
  }

  summary(): Summary {
    const sorted = this.#data.slice(0, this.#n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.#n,
      mean: this.#n ? sum / this.#n : Number.NaN,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: this.#n ? sorted[this.#n - 1]! : Number.NaN,
    };
  }
}

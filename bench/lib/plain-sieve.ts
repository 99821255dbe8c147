/**
 * The plain segmented odd-only sieve `primes.count` used before it was tuned: the baseline that
 * `bench/primes.ts` measures the kernel against (kept here, not used by the grid).
 */
import { oddPrimesUpTo, type PrimesInput, type PrimesOutput } from "../../shared/kernels/primes.ts";

const SEGMENT = 1 << 18;

/** Counts primes in [start, end) with a segmented sieve over odd numbers. */
export function countPrimes({ start, end }: PrimesInput): PrimesOutput {
  let count = 0;
  if (start <= 2 && end > 2) count++;
  let lo = Math.max(start, 3);
  if (lo % 2 === 0) lo++;
  if (lo >= end) return { count };
  const primes = oddPrimesUpTo(Math.floor(Math.sqrt(end - 1)) + 1);
  const segment = new Uint8Array(SEGMENT);
  for (let segLo = lo; segLo < end; segLo += 2 * SEGMENT) {
    // segment[k] stands for the odd number segLo + 2k
    const segHi = Math.min(end, segLo + 2 * SEGMENT);
    const slots = Math.ceil((segHi - segLo) / 2);
    segment.fill(0, 0, slots);
    for (const p of primes) {
      const sq = p * p;
      if (sq >= segHi) break;
      let first = sq >= segLo ? sq : segLo + ((p - (segLo % p)) % p);
      if (first % 2 === 0) first += p;
      for (let k = (first - segLo) / 2; k < slots; k += p) segment[k] = 1;
    }
    for (let k = 0; k < slots; k++) if (segment[k] === 0) count++;
  }
  return { count };
}

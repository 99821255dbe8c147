/**
 * `primes.count`: how many primes p satisfy start <= p < end.
 * Pure and dependency-free so it runs unchanged in Web Workers, Node worker threads and workerd.
 */
export interface PrimesInput {
  start: number;
  end: number;
}
export interface PrimesOutput {
  count: number;
}

/** Largest range one shard may span; keeps a single shard's compute and memory bounded. */
export const PRIMES_MAX_SPAN = 100_000_000;
/** Odd numbers per segment: 256 KiB of bytes, which stays in a core's L2 cache. */
const SEGMENT = 1 << 18;
/** Odd primes whose multiples come from a copied pattern rather than one by one. */
const PRESIEVED = [3, 5, 7, 11, 13] as const;
/** The pattern's period in odd slots (3*5*7*11*13). */
const PERIOD = 15015;

let basePrimes = new Uint32Array(0);
let baseLimit = 1;

/** Odd primes up to `limit` (inclusive), cached and grown on demand across calls. */
export function oddPrimesUpTo(limit: number): Uint32Array {
  if (limit <= baseLimit) return basePrimes;
  const grown = Math.max(limit, baseLimit * 2, 1 << 16);
  const sieve = new Uint8Array(grown + 1);
  const found: number[] = [];
  for (let i = 3; i <= grown; i += 2) {
    if (sieve[i]) continue;
    found.push(i);
    for (let j = i * i; j <= grown; j += 2 * i) sieve[j] = 1;
  }
  basePrimes = Uint32Array.from(found);
  baseLimit = grown;
  return basePrimes;
}

/**
 * The small primes' marks over odd numbers: slot k stands for the odd number 2k + 1, and the
 * pattern repeats every PERIOD slots. Built once; a segment copies it at the right phase, which
 * replaces about a third of all marking work.
 */
let pattern: Uint8Array | undefined;
function presieve(): Uint8Array {
  if (pattern) return pattern;
  // Long enough to copy a whole segment from any phase.
  const p = new Uint8Array(PERIOD + SEGMENT);
  for (const q of PRESIEVED) for (let k = (q - 1) / 2; k < p.length; k += q) p[k] = 1;
  return (pattern = p);
}

/** Counts the zero bytes of `segment[0, slots)` (bytes are 0 or 1), four at a time. */
function countZeros(segment: Uint8Array, words: Uint32Array, slots: number): number {
  let marked = 0;
  const whole = slots >>> 2;
  for (let w = 0; w < whole; w++) marked += Math.imul(words[w]!, 0x01010101) >>> 24;
  for (let k = whole << 2; k < slots; k++) marked += segment[k]!;
  return slots - marked;
}

/**
 * Counts primes in [start, end) with a segmented sieve over odd numbers: small primes come from
 * a copied pattern, each other base prime carries its next multiple from segment to segment (no
 * division per segment), and zeros are counted a word at a time.
 */
export function countPrimes({ start, end }: PrimesInput): PrimesOutput {
  let count = 0;
  if (start <= 2 && end > 2) count++;
  let lo = Math.max(start, 3);
  if (lo % 2 === 0) lo++;
  if (lo >= end) return { count };
  const primes = oddPrimesUpTo(Math.floor(Math.sqrt(end - 1)) + 1);
  const pre = presieve();
  const buffer = new ArrayBuffer(SEGMENT);
  const segment = new Uint8Array(buffer);
  const words = new Uint32Array(buffer);
  // next[i]: the slot (in the current segment) of prime i's next odd multiple to strike.
  let used = 0;
  while (used < primes.length && primes[used]! * primes[used]! < end) used++;
  const next = new Float64Array(used);
  for (let i = 0; i < used; i++) {
    const p = primes[i]!;
    const sq = p * p;
    let first = sq >= lo ? sq : lo + ((p - (lo % p)) % p);
    if (first % 2 === 0) first += p;
    next[i] = (first - lo) / 2;
  }
  for (let segLo = lo; segLo < end; segLo += 2 * SEGMENT) {
    // segment[k] stands for the odd number segLo + 2k
    const slots = Math.min(SEGMENT, Math.ceil((end - segLo) / 2));
    const phase = ((segLo - 1) / 2) % PERIOD;
    segment.set(pre.subarray(phase, phase + slots));
    for (let i = 0; i < used; i++) {
      const p = primes[i]!;
      let k = next[i]!;
      if (p <= 13) {
        // Marked by the pattern, but a pattern mark on p itself (a prime) must be undone.
        for (; k < slots; k += p);
      } else {
        for (; k < slots; k += p) segment[k] = 1;
      }
      next[i] = k - slots;
    }
    // The pattern marks 3, 5, 7, 11 and 13 themselves: they are prime.
    if (segLo <= 13) for (const q of PRESIEVED) if (q >= segLo && q < segLo + 2 * slots) segment[(q - segLo) / 2] = 0;
    count += countZeros(segment, words, slots);
  }
  return { count };
}

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
/** Odd numbers per segment, one bit each: 128 KiB, which stays in a core's L2 cache. */
const SEGMENT = 1 << 20;
const SEGMENT_WORDS = SEGMENT >>> 5;
/** Odd primes whose multiples come from a copied pattern rather than one by one. */
const PRESIEVED = [3, 5, 7, 11, 13] as const;
/** The pattern's period in odd numbers (3*5*7*11*13); odd, so it is also its period in 32-bit words. */
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
 * The small primes' marks over odd numbers, a bit each: bit i (bit i & 31 of word i >>> 5) stands
 * for the odd number 2i + 1, and the words repeat every PERIOD words. Built once; a segment
 * copies it from the right word, which replaces about a third of all marking work.
 */
let pattern: Int32Array | undefined;
function presieve(): Int32Array {
  if (pattern) return pattern;
  // Long enough to copy a whole segment from any phase.
  const p = new Int32Array(PERIOD + SEGMENT_WORDS);
  const bits = p.length * 32;
  for (const q of PRESIEVED) for (let i = (q - 1) / 2; i < bits; i += q) p[i >>> 5]! |= 1 << (i & 31);
  return (pattern = p);
}

/** Set bits of a 32-bit word. */
function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * Counts primes in [start, end) with a segmented sieve over odd numbers, one bit each: small
 * primes come from a copied pattern, each other base prime carries its next multiple from
 * segment to segment (no division per segment), and marks are counted 32 at a time.
 */
export function countPrimes({ start, end }: PrimesInput): PrimesOutput {
  let count = 0;
  if (start <= 2 && end > 2) count++;
  let lo = Math.max(start, 3);
  if (lo % 2 === 0) lo++;
  if (lo >= end) return { count };
  const primes = oddPrimesUpTo(Math.floor(Math.sqrt(end - 1)) + 1);
  const pre = presieve();
  const segment = new Int32Array(SEGMENT_WORDS);
  // The odd number 2i + 1 has index i: the range is indices [first, last). Segments start on a
  // word boundary of the pattern; the bits before `first` are marked so they do not count.
  const first = (lo - 1) / 2;
  const last = Math.ceil((end - 1) / 2);
  const base = first - (first % 32);
  let from = 0;
  while (from < primes.length && primes[from]! <= PRESIEVED.at(-1)!) from++;
  let used = from;
  while (used < primes.length && primes[used]! * primes[used]! < end) used++;
  // next[i]: prime i's next odd multiple to strike, as an index from the current segment's start.
  const next = new Int32Array(used);
  for (let i = from; i < used; i++) {
    const p = primes[i]!;
    const sq = p * p;
    let m = sq >= lo ? sq : lo + ((p - (lo % p)) % p);
    if (m % 2 === 0) m += p;
    next[i] = (m - 1) / 2 - base;
  }
  for (let segStart = base; segStart < last; segStart += SEGMENT) {
    const bits = Math.min(SEGMENT, last - segStart);
    const words = (bits + 31) >>> 5;
    const phase = (segStart / 32) % PERIOD;
    segment.set(pre.subarray(phase, phase + words));
    // The pattern marks 3, 5, 7, 11 and 13 themselves: they are prime.
    if (segStart === 0) for (const q of PRESIEVED) if (q >= lo) segment[0]! &= ~(1 << ((q - 1) / 2));
    for (let i = from; i < used; i++) {
      const p = primes[i]!;
      let k = next[i]!;
      for (; k < bits; k += p) segment[k >>> 5]! |= 1 << (k & 31);
      next[i] = k - SEGMENT;
    }
    if (segStart < first) segment[0]! |= (1 << (first - segStart)) - 1;
    if (bits & 31) segment[words - 1]! |= -1 << (bits & 31);
    let marked = 0;
    for (let w = 0; w < words; w++) marked += popcount(segment[w]!);
    count += words * 32 - marked;
  }
  return { count };
}

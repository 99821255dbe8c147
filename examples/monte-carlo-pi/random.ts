// A counter-based random generator: the value for (seed, index, stream) is a pure hash of the
// three, so sample i gets the same point on every volunteer, in every shard layout.

/** MurmurHash3's 32-bit finaliser: every input bit flips about half the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A uniform number in [0, 1) for sample `index` (any whole number below 2^53) of stream
 * `stream` under `seed`; the same arguments always give the same number.
 * @example uniform(42, 1_000_000, 0) // same value on every machine
 */
export function uniform(seed: number, index: number, stream: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  let h = fmix32(seed ^ Math.imul(stream + 1, 0x9e3779b9));
  h = fmix32(h ^ lo);
  h = fmix32(h ^ Math.imul(hi ^ 0x5bd1e995, 0x27d4eb2f));
  return h / 4294967296;
}

// A small seeded generator (sfc32, seeded through splitmix32) and the few distributions the
// order generator draws from. Same seed, same sequence, on every machine and Node version.

/** splitmix32: spreads one 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A uniform number in [0, 1) on every call, from Chris Doty-Humphrey's sfc32 (small, fast,
 * passes PractRand far beyond what a data generator needs).
 * @example const next = sfc32(42); next(); // 0.6011037519201636 on every machine
 */
export function sfc32(seed: number): () => number {
  const init = { s: seed | 0 };
  let a = splitmix32(init);
  let b = splitmix32(init);
  let c = splitmix32(init);
  let d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // the first outputs still show the seed
  return next;
}

/** A standard normal draw (Box-Muller; one of the pair is thrown away to keep draws per call fixed). */
export function normal(next: () => number): number {
  const u = 1 - next(); // (0, 1]: log(0) never happens
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/**
 * Picks among weighted choices with one draw. Build it once: the cumulative weights are kept.
 * @example const pick = weighted([["a", 3], ["b", 1]]); pick(next) // "a" three times as often
 */
export function weighted<T>(choices: readonly (readonly [T, number])[]): (next: () => number) => T {
  const total = choices.reduce((sum, [, w]) => sum + w, 0);
  let running = 0;
  const bounds = choices.map(([, w]) => (running += w) / total);
  return (next) => {
    const u = next();
    for (let i = 0; i < bounds.length; i++) if (u < bounds[i]!) return choices[i]![0];
    return choices[choices.length - 1]![0];
  };
}

/**
 * A rank in [0, n) with probability falling like 1/(rank + 1) (Zipf with exponent 1, drawn by
 * inverting its continuous approximation): rank 0 is drawn most, the tail is long.
 */
export function zipfRank(next: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.exp(next() * Math.log(n + 1))) - 1);
}

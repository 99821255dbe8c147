/**
 * The trust benchmark's world: shards whose right answer is known by construction, the
 * saboteur model, and the textbook error rate of M-first majority voting to compare against.
 */
import { createHash } from "node:crypto";

/** A `wordcount` shard whose text is `"w<i> "` repeated `k` times: its right output is {counts: {"w<i>": k}}. */
export function shardInput(i: number, k: number): { text: string } {
  return { text: `w${i} `.repeat(k) };
}

/** Whether `output` is exactly the right output of shard `i` (one word, counted `k` times). */
export function isRight(i: number, k: number, output: unknown): boolean {
  const counts = (output as { counts?: Record<string, unknown> } | undefined)?.counts;
  if (!counts || typeof counts !== "object") return false;
  const keys = Object.keys(counts);
  return keys.length === 1 && keys[0] === `w${i}` && counts[`w${i}`] === k;
}

/**
 * How the saboteurs of one run behave.
 * - colluding: they decide together (from a hash of (seed, shard)) whether a shard is sabotaged,
 *   and all return the same wrong output for it: every count + 1.
 * - not colluding: each decides alone with probability `s` and returns its own random wrong
 *   output (every count + 1 + a random number below 10^9), so two of them practically never agree.
 */
export interface Adversary {
  colluding: boolean;
  /** Sabotage rate: share of shards a saboteur answers wrongly. */
  s: number;
  /** Per-run seed of the colluders' shared decision. */
  seed: string;
}

/** Uniform in [0, 1) from (seed, shard): the colluders' common coin. */
export function sharedCoin(seed: string, shard: string): number {
  const h = createHash("sha256").update(`${seed}:${shard}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

type Counts = { counts: Record<string, number> };

/** A saboteur's answer to one lease, given the honest output; the honest output when it does not sabotage. */
export function sabotage(adv: Adversary, shard: string, honest: Counts): { output: Counts; wrong: boolean } {
  const hit = adv.colluding ? sharedCoin(adv.seed, shard) < adv.s : Math.random() < adv.s;
  if (!hit) return { output: honest, wrong: false };
  const add = adv.colluding ? 1 : 1 + Math.floor(Math.random() * 1e9);
  const counts: Record<string, number> = {};
  for (const [w, n] of Object.entries(honest.counts)) counts[w] = n + add;
  return { output: { counts }, wrong: true };
}

function choose(n: number, k: number): number {
  let c = 1;
  for (let j = 1; j <= k; j++) c = (c * (n - k + j)) / j;
  return c;
}

/**
 * Error rate of M-first majority voting when a share `f` of volunteers always return the same
 * wrong answer: the chance that M of the first 2M-1 replicas are saboteurs,
 * err = Σ_{j=M}^{2M-1} C(2M-1, j) f^j (1-f)^(2M-1-j).
 */
export function majorityError(f: number, m: number): number {
  const n = 2 * m - 1;
  let err = 0;
  for (let j = m; j <= n; j++) err += choose(n, j) * f ** j * (1 - f) ** (n - j);
  return err;
}

/**
 * The same error for a finite pool: `saboteurs` of `volunteers` all agreeing, the 2M-1 replicas
 * going to distinct volunteers drawn at random (hypergeometric rather than binomial).
 */
export function majorityErrorPool(saboteurs: number, volunteers: number, m: number): number {
  const n = 2 * m - 1;
  if (volunteers < n) return Number.NaN;
  let err = 0;
  for (let j = m; j <= Math.min(n, saboteurs); j++) err += (choose(saboteurs, j) * choose(volunteers - saboteurs, n - j)) / choose(volunteers, n);
  return err;
}

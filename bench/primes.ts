/**
 * `npm run bench:primes`: the `primes.count` kernel against the plain segmented sieve it
 * replaced, on the outside harness's shards (`[1e12, 1e12 + 1.2e9)` in steps of `2e7`), one
 * thread, best of a few rounds. Prints ms per shard for each and the speed-up.
 */
import { countPrimes } from "../shared/kernels/primes.ts";
import { countPrimes as plain } from "./lib/plain-sieve.ts";

const quick = process.argv.includes("--quick");
const START = 1e12;
const STEP = 2e7;
const SHARDS = quick ? 6 : 60;
const ROUNDS = quick ? 2 : 3;

function run(f: (i: { start: number; end: number }) => { count: number }): { ms: number; count: number } {
  let best = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    count = 0;
    for (let i = 0; i < SHARDS; i++) count += f({ start: START + i * STEP, end: START + (i + 1) * STEP }).count;
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best / SHARDS, count };
}

const base = run(plain);
const tuned = run(countPrimes);
if (base.count !== tuned.count) throw new Error(`counts differ: plain ${base.count}, kernel ${tuned.count}`);
console.log(`primes in [1e12, 1e12 + ${SHARDS} x 2e7): ${tuned.count}`);
console.log(`plain segmented sieve   ${base.ms.toFixed(1).padStart(7)} ms/shard`);
console.log(`primes.count kernel     ${tuned.ms.toFixed(1).padStart(7)} ms/shard   ${(base.ms / tuned.ms).toFixed(2)}x faster`);

// WASM against JS on the same shards, directly in Node (no grid): `npm run build && npm run bench`
// inside examples/collatz-wasm (`-- --end 5000000 --step 100000` to change the ranges).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { compute as jsCompute, type ChainStats, type Range } from "./collatz.ts";
import { loadWasmKernel } from "./wasm-host.ts";

const { values } = parseArgs({
  options: { end: { type: "string", default: "2000000" }, step: { type: "string", default: "100000" }, rounds: { type: "string", default: "3" } },
});
const end = Number(values.end);
const step = Number(values.step);
const rounds = Number(values.rounds);

let bytes: Uint8Array;
try {
  bytes = readFileSync(new URL("./build/collatz.wasm", import.meta.url));
} catch {
  console.error("build/collatz.wasm is missing: run `npm run build` in examples/collatz-wasm first");
  process.exit(1);
}
const wasmCompute = (await loadWasmKernel(bytes)) as (input: Range) => ChainStats;

const shards: Range[] = [];
for (let start = 0; start < end; start += step) shards.push({ start, end: Math.min(start + step, end) });

/** Runs every shard once and merges like the job's reduce would; returns the merged output and the time. */
function run(kernel: (input: Range) => ChainStats): { merged: ChainStats; ms: number } {
  const t0 = performance.now();
  const merged = { maxSteps: 0, totalSteps: 0 };
  for (const shard of shards) {
    const out = kernel(shard);
    merged.maxSteps = Math.max(merged.maxSteps, out.maxSteps);
    merged.totalSteps += out.totalSteps;
  }
  return { merged, ms: performance.now() - t0 };
}

// Warm both up on a small range so neither pays its compilation inside the timings.
for (let i = 0; i < 3; i++) jsCompute({ start: 0, end: 20_000 }), wasmCompute({ start: 0, end: 20_000 });

const best = { js: Infinity, wasm: Infinity };
let answer: ChainStats | undefined;
for (let round = 1; round <= rounds; round++) {
  const js = run(jsCompute);
  const wasm = run(wasmCompute);
  if (JSON.stringify(js.merged) !== JSON.stringify(wasm.merged)) {
    throw new Error(`the twins disagree: js ${JSON.stringify(js.merged)}, wasm ${JSON.stringify(wasm.merged)}`);
  }
  answer = js.merged;
  best.js = Math.min(best.js, js.ms);
  best.wasm = Math.min(best.wasm, wasm.ms);
  console.log(`round ${round}: js ${js.ms.toFixed(0)} ms, wasm ${wasm.ms.toFixed(0)} ms`);
}

const numbers = end - 1;
console.log(`\nCollatz chains of 1..${end - 1} in ${shards.length} shards of ${step} (best of ${rounds}, Node ${process.version}):`);
console.log(`  result      ${JSON.stringify(answer)} (mean ${((answer?.totalSteps ?? 0) / numbers).toFixed(2)} steps)`);
console.log(`  js/1        ${best.js.toFixed(0)} ms  (${(((numbers / best.js) * 1000) / 1e6).toFixed(2)} M numbers/s)`);
console.log(`  wasm/1      ${best.wasm.toFixed(0)} ms  (${(((numbers / best.wasm) * 1000) / 1e6).toFixed(2)} M numbers/s)`);
console.log(`  wasm is ${(best.js / best.wasm).toFixed(2)}x as fast as js`);

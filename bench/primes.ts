/**
 * `npm run bench:primes` (`--quick`: fewer shards and rounds; `--no-page`: the kernel only;
 * `--landed <ref>`: also the page as built at that commit, in the same run; `--runs N`;
 * `--no-trace`: no Chromium trace, so no idle figures, and none of the trace's own cost).
 *
 * 1. The `primes.count` kernel against the plain segmented sieve it replaced, on the outside
 *    harness's shards (`[1e12, 1e12 + 1.2e9)` in steps of `2e7`), one Node thread, best of a
 *    few rounds: ms per shard for each and the speed-up.
 * 2. The volunteer page in headless Chromium with 2 Web Workers on the same job through a local
 *    grid, from its first lease call to its last result, against 2 x one Node thread (the plain
 *    sieve: the figure; this tree's kernel: what scheduling costs), against 2 Node
 *    threads running this tree's kernel on the same shards just before each page run (what the
 *    machine gives two threads at that moment, other load included), the time from the first
 *    lease call to the first compute on a worker, and each kernel worker's idle time between
 *    its first and last busy spell, read from a Chromium trace.
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { countPrimes } from "../shared/kernels/primes.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { startLocalServer } from "../test/support/local-server.ts";
import { bundlesAt } from "./lib/bundles-at.ts";
import { hostLine } from "./lib/cpu.ts";
import { runPage } from "./lib/page-run.ts";
import { countPrimes as plain } from "./lib/plain-sieve.ts";
import { sieveOnThreads } from "./lib/sieve-threads.ts";
import { num, table } from "./lib/table.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    "no-page": { type: "boolean" },
    landed: { type: "string" },
    runs: { type: "string" },
    "no-trace": { type: "boolean" },
  },
});
const START = 1e12;
const STEP = 2e7;
const SHARDS = values.quick ? 6 : 60;
const ROUNDS = values.quick ? 2 : 3;
const THREADS = 2;
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));

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

console.log(hostLine());
const base = run(plain);
const tuned = run(countPrimes);
if (base.count !== tuned.count) throw new Error(`counts differ: plain ${base.count}, kernel ${tuned.count}`);
console.log(`primes in [1e12, 1e12 + ${SHARDS} x 2e7): ${tuned.count}`);
console.log(`plain segmented sieve   ${base.ms.toFixed(1).padStart(7)} ms/shard`);
console.log(`primes.count kernel     ${tuned.ms.toFixed(1).padStart(7)} ms/shard   ${(base.ms / tuned.ms).toFixed(2)}x faster`);

if (!values["no-page"]) {
  const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
  const builds: [string, string | undefined][] = [["this tree", undefined]];
  if (values.landed) step(`building the page at ${values.landed}`), builds.unshift([values.landed, await bundlesAt(values.landed)]);
  step("starting the local grid and Chromium");
  const [server, browser] = await Promise.all([startLocalServer(), launchBrowser()]);
  const job = { kernel: "primes.count", range: { start: START, end: START + SHARDS * STEP, step: STEP }, replication: { replicas: 1, quorum: 1 } };
  // Ideal wall time of 2 threads: the job's shards split evenly, each thread as fast as one Node thread.
  const ideal = { plain: (SHARDS * base.ms) / THREADS, kernel: (SHARDS * tuned.ms) / THREADS };
  const rows: (string | number)[][] = [];
  try {
    // Alternate builds run by run, so a change in the machine's load hits both alike.
    for (let r = 1; r <= RUNS; r++) {
      for (const [name, bundles] of builds) {
        step(`page run ${r}/${RUNS} (${name}), after 2 Node threads on the same shards`);
        const node = await sieveOnThreads(START, STEP, SHARDS, THREADS);
        if (node.count !== tuned.count) throw new Error(`2 Node threads counted ${node.count}, expected ${tuned.count}`);
        const got = await runPage(browser, { url: server.url, token: server.tokens[0], threads: THREADS, job, bundles, trace: !values["no-trace"] });
        if ((got.result as { count: number }).count !== tuned.count) throw new Error(`the page counted ${JSON.stringify(got.result)}, expected ${tuned.count}`);
        const idle = got.threads.map((t) => `${num(t.idleMs)} (${num(t.busyMs)}, ${num(t.maxGapMs)})`).join(" / ");
        rows.push([
          name,
          r,
          num(got.ms),
          num(ideal.plain / got.ms, 2),
          num(ideal.kernel / got.ms, 2),
          num(node.ms),
          num(node.ms / got.ms, 2),
          num(got.startupMs),
          idle,
        ]);
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    for (const [, dir] of builds) if (dir) rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nthe page, ${THREADS} Web Workers, ${SHARDS} shards; vs 2 x one Node thread (plain sieve ${num(ideal.plain)} ms, the kernel ${num(ideal.kernel)} ms)`,
  );
  console.log(
    table(
      [
        "page build",
        "run",
        "ms",
        "vs plain",
        "vs kernel",
        "2 Node threads ms",
        "vs them",
        "to 1st shard",
        "per thread: idle ms between shards (busy ms, longest gap ms)",
      ],
      rows,
    ),
  );
}

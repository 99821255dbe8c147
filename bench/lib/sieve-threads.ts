/**
 * The reference the page is held against, measured at the same moment: `threads` Node worker
 * threads splitting the job's shards evenly (shard i on thread i mod threads), each running this
 * tree's `primes.count`. Its wall time is what the machine gives 2 busy threads right now.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { countPrimes } from "../../shared/kernels/primes.ts";

interface Plan {
  start: number;
  step: number;
  shards: number;
  thread: number;
  threads: number;
}

/** Runs the shards on `threads` worker threads; resolves with the wall time (ms) and the count. */
export async function sieveOnThreads(start: number, step: number, shards: number, threads: number): Promise<{ ms: number; count: number }> {
  const workers = Array.from(
    { length: threads },
    (_, thread) => new Worker(new URL(import.meta.url), { workerData: { start, step, shards, thread, threads } satisfies Plan }),
  );
  // Every worker has loaded and said so before the clock starts.
  await Promise.all(workers.map((w) => new Promise((ok) => w.once("message", ok))));
  const t0 = performance.now();
  const counts = await Promise.all(workers.map((w) => new Promise<number>((ok, fail) => (w.once("message", ok), w.once("error", fail), w.postMessage("go")))));
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return { ms, count: counts.reduce((a, b) => a + b, 0) };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const { start, step, shards, thread, threads } = workerData as Plan;
  port.once("message", () => {
    let count = 0;
    for (let i = thread; i < shards; i += threads) count += countPrimes({ start: start + i * step, end: start + (i + 1) * step }).count;
    port.postMessage(count);
  });
  port.postMessage("ready");
}

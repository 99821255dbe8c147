/**
 * `node bench/create.ts` (`--runs N`, default 5): how long `POST /v1/jobs` takes to create a range
 * job of 10,000,000 shards on the local grid (`npm start`), over several runs, against a 10-shard
 * job created the same way (the request's own cost). Goal (issue 11): under 1 s.
 * A range job stores no row per shard: shards come to exist as they are leased.
 */
import { parseArgs } from "node:util";
import { createClient } from "../client/api/index.ts";
import { startLocalServer } from "../test/support/local-server.ts";
import { hostLine } from "./lib/cpu.ts";
import { percentile } from "./lib/stats.ts";
import { num, table } from "./lib/table.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
const GOAL_MS = 1000;
const range = (shards: number) => ({ kernel: "primes.count", range: { start: 0, end: shards * 1000, step: 1000 } });

const server = await startLocalServer({ vars: { SUBMIT_RATE_PER_MINUTE: "1000000" } });
try {
  console.log(hostLine());
  const client = createClient({ url: server.url, token: server.tokens[0] });
  const rows = [];
  for (const shards of [10, 10_000_000]) {
    const ms: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const job = await client.submit(range(shards));
      const took = performance.now() - t0;
      if (job.shards.total !== shards) throw new Error(`created ${job.shards.total} shards, not ${shards}`);
      await client.cancel(job.id);
      if (i > 0) ms.push(took); // the first run warms the isolate and the objects up
    }
    rows.push([
      `${shards.toLocaleString("en")} shards`,
      num(
        percentile(
          ms.toSorted((a, b) => a - b),
          0.5,
        ),
        1,
      ),
      num(Math.max(...ms), 1),
      shards === 10_000_000 ? (Math.max(...ms) < GOAL_MS ? "yes" : "NO") : "",
    ]);
  }
  console.log(table(["POST /v1/jobs (range)", "p50 ms", "max ms", `max < ${GOAL_MS} ms`], rows));
} finally {
  await server.stop();
}

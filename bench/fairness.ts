/**
 * `npm run bench:fairness` (`--quick`: a 10 s head start instead of 60 s): two submitters share
 * one grid. Submitter A creates a 100,000-shard job; after the head start, submitter B creates a
 * 500-shard job. While both run, each one's share of the shards completed is measured (goal:
 * each within 10 % of half), then B's completion time against the same job run alone.
 * Volunteers: two `colmeia volunteer --threads 2` processes, vouched for (an operator's own).
 */
import type { ChildProcess } from "node:child_process";
import { parseArgs } from "node:util";
import { createClient } from "../client/api/index.ts";
import { startLocalServer } from "../test/support/local-server.ts";
import { startVolunteerProcess, stopVolunteerProcess } from "../test/support/volunteer-process.ts";
import { hostLine } from "./lib/cpu.ts";
import { table } from "./lib/table.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean" } } });
const HEAD_START_MS = values.quick ? 10_000 : 60_000;
const KEY = "bench-fairness-key";
const job = (shards: number, start = 0) => ({
  kernel: "primes.count",
  range: { start, end: start + shards * 5_000_000, step: 5_000_000 },
});

const server = await startLocalServer({ vars: { VOLUNTEER_KEYS: KEY, SUBMIT_RATE_PER_MINUTE: "1000000", REGISTRATIONS_PER_MINUTE: "100000" } });
const [a, b] = server.tokens.map((token) => createClient({ url: server.url, token }));
const volunteers: ChildProcess[] = [];
try {
  console.log(hostLine());
  for (let i = 0; i < 2; i++) volunteers.push(await startVolunteerProcess(server.url, ["--threads", "2", "--key", KEY]));
  const big = await a!.submit(job(100_000));
  await new Promise((r) => setTimeout(r, HEAD_START_MS));
  const bigBefore = (await a!.status(big.id)).shards.done;
  const t0 = performance.now();
  const small = await b!.submit(job(500, 1e12));
  const smallFinal = await b!.wait(small.id);
  const sharedMs = performance.now() - t0;
  const bigDuring = (await a!.status(big.id)).shards.done - bigBefore;
  const smallShare = smallFinal.shards.done / (smallFinal.shards.done + bigDuring);

  await a!.cancel(big.id);
  const t1 = performance.now();
  const alone = await b!.submit(job(500, 2e12));
  await b!.wait(alone.id);
  const aloneMs = performance.now() - t1;

  console.log(
    table(
      ["while both ran", "A (100,000 shards, first)", "B (500 shards, later)"],
      [
        ["shards completed", bigDuring, smallFinal.shards.done],
        ["share", `${((1 - smallShare) * 100).toFixed(1)} %`, `${(smallShare * 100).toFixed(1)} %`],
      ],
    ),
  );
  console.log(`goal: each share within 10 % of half (45-55 %): ${Math.abs(smallShare - 0.5) <= 0.05 ? "met" : "not met"}`);
  console.log(`B's 500 shards: ${(sharedMs / 1000).toFixed(1)} s beside A, ${(aloneMs / 1000).toFixed(1)} s alone (${(sharedMs / aloneMs).toFixed(2)}x)`);
} finally {
  await Promise.all(volunteers.map(stopVolunteerProcess));
  await server.stop();
}

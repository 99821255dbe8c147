/**
 * Trust benchmark (issue 5): saboteurs against the real coordinator's verification policies.
 *
 * A fresh local server (wrangler dev on workerd, isolated state); for every configuration
 * (saboteur fraction f, sabotage rate s, colluding or not) and policy (adaptive, fixed 2-of-2,
 * fixed 3-of-3) it registers fresh volunteers, submits one `wordcount` job whose shards all have
 * a known answer, lets the volunteers work until the job has ended and stayed ended, then audits
 * every shard the coordinator accepted.
 *
 *   node bench/trust.ts                      full grid (3 f × 3 s × 2 × 3 policies = 54 runs, under 10 minutes)
 *   node bench/trust.ts --quick              smoke run (f = 0.2, s ∈ {1, 0.1}, 400-shard jobs, under 2 minutes)
 *   node bench/trust.ts --shards 2000 --fixed-shards 1000 --volunteers 40 --batch 8 --settle 3000 --jitter 20
 *   node bench/trust.ts --f 0.2 --s 0.1 --colluding yes --policy adaptive --trace    one cell, with a timeline
 *   node bench/trust.ts --patience 40 ...    saboteurs first earn trust with 40 honest answers
 *
 * Job sizes: adaptive jobs get --shards (default 2000: the policy's cost of trusting fresh
 * volunteers is per volunteer, so it needs a job large enough to amortise, and 1e-3 needs the
 * resolution); fixed-voting jobs get --fixed-shards (default 1000: error rates near 0.1 need fewer).
 *
 * All traffic goes to 127.0.0.1.
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { startLocalServer, type LocalServer } from "../test/support/local-server.ts";
import { hostLine } from "./lib/cpu.ts";
import { JsonClient } from "./lib/http.ts";
import { num } from "./lib/table.ts";
import { detailTable, formulaTable, healthLines, mainTable, timelineTable, verdict } from "./trust/report.ts";
import { POLICIES, runConfig, type RunOutcome, type RunSpec } from "./trust/run.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    shards: { type: "string" },
    "fixed-shards": { type: "string" },
    volunteers: { type: "string" },
    batch: { type: "string", default: "8" },
    jitter: { type: "string", default: "20" },
    patience: { type: "string", default: "0" },
    settle: { type: "string", default: "3000" },
    f: { type: "string" },
    s: { type: "string" },
    colluding: { type: "string" },
    policy: { type: "string" },
    trace: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: node bench/trust.ts [--quick] [--shards N] [--fixed-shards N] [--volunteers N] [--batch N] [--settle MS] [--jitter MS] [--patience N]\n" +
      "                           [--f 0.1,0.2] [--s 1,0.1] [--colluding yes,no] [--policy adaptive,2-of-2,3-of-3] [--trace]",
  );
  process.exit(0);
}

function int(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
}

const quick = args.quick;
const list = (v: string | undefined, fallback: number[]) => (v === undefined ? fallback : v.split(",").map(Number));
const FS = list(args.f, quick ? [0.2] : [0.1, 0.2, 0.35]);
const SS = list(args.s, quick ? [1, 0.1] : [1, 0.5, 0.1]);
const COLLUDING =
  args.colluding === undefined
    ? [true, false]
    : args.colluding.split(",").map((c) => {
        if (c !== "yes" && c !== "no") throw new Error("--colluding takes yes, no or yes,no");
        return c === "yes";
      });
const POLICY_NAMES = args.policy === undefined ? POLICIES.map((p) => p.name) : args.policy.split(",");
for (const x of [...FS, ...SS]) if (!(x >= 0 && x <= 1)) throw new Error("--f and --s take numbers in [0, 1]");
for (const n of POLICY_NAMES) if (!POLICIES.some((p) => p.name === n)) throw new Error(`--policy: choose from ${POLICIES.map((p) => p.name).join(", ")}`);
const shards = int("shards", args.shards, quick ? 400 : 2000, 10, 100_000);
const fixedShards = int("fixed-shards", args["fixed-shards"], args.shards !== undefined ? shards : quick ? 400 : 1000, 10, 100_000);
const volunteers = int("volunteers", args.volunteers, quick ? 20 : 40, 2, 1000);
const batch = int("batch", args.batch, 8, 1, 64);
const settleMs = int("settle", args.settle, 3000, 0, 60_000);
const jitterMs = int("jitter", args.jitter, 20, 0, 10_000);
const patience = int("patience", args.patience, 0, 0, 1_000_000);

/**
 * Fixed-voting jobs never check a result themselves, so nobody is caught in them, and each run's
 * volunteers work on no other job: nothing can reopen them. A shorter wait keeps the grid in time.
 */
function fixedSettle(ms: number): number {
  return Math.min(ms, 1000);
}

async function main(): Promise<void> {
  console.log(`Colmeia trust benchmark${quick ? " (--quick)" : ""}`);
  console.log(hostLine());
  const serverErrors: string[] = [];
  let phase = "start-up";
  let server: LocalServer | undefined;
  const shutdown = async () => {
    await server?.stop();
    if (server) rmSync(server.stateDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void shutdown().then(() => process.exit(130)));

  try {
    server = await startLocalServer({
      vars: { REGISTRATIONS_PER_MINUTE: "1000000", SUBMIT_RATE_PER_MINUTE: "1000000" },
      onOutput: (chunk) => {
        for (const line of chunk.split("\n")) {
          if (phase !== "start-up" && /error|exception|uncaught|✘/i.test(line)) serverErrors.push(`[${phase}] ${line.trim().slice(0, 200)}`);
        }
      },
    });
    const http = new JsonClient(server.url);
    console.log(
      `Server ${server.url}; per run: ${volunteers} fresh volunteers, one wordcount job (adaptive: ${shards} shards, fixed voting: ${fixedShards}), ` +
        `leases in batches of ${batch} with 0-${jitterMs} ms simulated compute per batch; a job is audited once it stayed ended ` +
        `${settleMs / 1000} s (fixed voting: ${fixedSettle(settleMs) / 1000} s)` +
        (patience ? `; saboteurs answer their first ${patience} leases honestly` : ""),
    );

    const specs: RunSpec[] = [];
    for (const f of FS)
      for (const s of SS)
        for (const colluding of COLLUDING)
          for (const policy of POLICIES.filter((p) => POLICY_NAMES.includes(p.name))) {
            const fixed = policy.replication !== undefined;
            specs.push({
              f,
              s,
              colluding,
              policy,
              volunteers,
              batch,
              jitterMs,
              patience,
              k: 3,
              shards: fixed ? fixedShards : shards,
              settleMs: fixed ? fixedSettle(settleMs) : settleMs,
              timeoutMs: 120_000,
              maxRequests: 200_000,
              trace: args.trace,
            });
          }

    const t0 = performance.now();
    const runs: RunOutcome[] = [];
    for (const [i, spec] of specs.entries()) {
      phase = `f=${spec.f} s=${spec.s} ${spec.colluding ? "coll" : "indep"} ${spec.policy.name}`;
      process.stdout.write(`[${String(i + 1).padStart(2)}/${specs.length}] ${phase.padEnd(30)} `);
      const r = await runConfig(http, server.tokens[0], spec);
      runs.push(r);
      console.log(
        `${r.state}${r.timedOut ? " (TIMEOUT)" : ""}: ${r.wrong} wrong, ${r.failed} failed of ${r.accepted + r.failed}/${r.total} decided; ` +
          `work ${num((r.work.results + r.work.checks) / (r.listed || r.total), 2)}; saboteurs caught ${r.caught}/${r.saboteurs}; ` +
          `${num(r.jobSeconds, 1)} s job, ${num(r.wallSeconds, 1)} s run`,
      );
      if (args.trace) console.log(timelineTable(r));
    }
    phase = "shutdown";
    http.close();
    const minutes = (performance.now() - t0) / 60_000;

    console.log("");
    console.log(
      "Measured (wrong = accepted shards with a wrong output / accepted shards; failed = failed shards / decided shards; " +
        "work/shard = (volunteer results incl. ringers + coordinator checks) / started shards, shown as total (results+checks))",
    );
    console.log(mainTable(runs));
    console.log("");
    console.log("M-first majority voting, saboteurs always agreeing on a wrong answer: err = Σ_{j=M}^{2M-1} C(2M-1,j) f^j (1-f)^(2M-1-j)");
    console.log(formulaTable(FS, volunteers));
    console.log("");
    for (const line of verdict(runs)) console.log(line);
    console.log("");
    console.log("Per run:");
    console.log(detailTable(runs));
    console.log("");
    for (const line of healthLines(runs)) console.log(line);
    console.log(
      serverErrors.length ? `Server error output: ${serverErrors.length} line(s)\n  ${serverErrors.slice(0, 10).join("\n  ")}` : "Server error output: none.",
    );
    console.log(`Total ${num(minutes, 1)} min for ${runs.length} runs.`);
  } finally {
    await shutdown();
  }
}

await main();

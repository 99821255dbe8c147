/**
 * Coordinator benchmark (issue 2): a real local server (`npm start`: Miniflare on workerd) and
 * simulated honest volunteers over HTTP, measuring shard completions/s and request latency.
 *
 *   npm run bench                 full run (about 3.5 minutes)
 *   npm run bench -- --quick      short run (under a minute)
 *   npm run bench -- --only=1,3   some scenarios only (1, 1b, 2, 2r, 3)
 *   npm run bench -- --client=fetch   volunteers use Node's fetch instead of node:http (costs more client CPU)
 *
 * All traffic goes to 127.0.0.1; the load generator and the server share this machine's cores.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { startLocalServer, type LocalServer } from "../test/support/local-server.ts";
import { calibrate, type Calibration } from "./lib/calibrate.ts";
import { hostLine } from "./lib/cpu.ts";
import { JsonClient, mapLimit } from "./lib/http.ts";
import type { Kind } from "./lib/recorder.ts";
import { runScenario, type ScenarioResult, type ScenarioSpec } from "./lib/scenario.ts";
import { num, table, type Cell } from "./lib/table.ts";

const BASELINE = { roundTrips: [280, 365], p50: [130, 170], p99: [230, 330], clients: 50 } as const;
const GOAL_P99_MS = 100;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    client: { type: "string", default: "http" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  console.log("usage: node bench/coordinator.ts [--quick] [--only=1,1b,2,2r,3] [--client=http|fetch]");
  process.exit(0);
}

/** Scenario definitions, in run order; `quick` shortens warm-up and measurement, never the number of volunteers. */
function scenarios(quick: boolean): [key: string, spec: ScenarioSpec][] {
  const fast = { warmupMs: quick ? 2_000 : 3_000, measureMs: quick ? 5_000 : 20_000, staggerMs: 500 };
  const bound = (s: Omit<ScenarioSpec, "maxRequests">): ScenarioSpec => ({
    ...s,
    maxRequests: Math.ceil(((s.warmupMs + s.measureMs) / 1000) * 10_000),
  });
  return [
    ["1", bound({ title: "1  single lease", volunteers: 200, max: 1, replication: { replicas: 1, quorum: 1 }, ...fast })],
    // The prototype baseline's own shape (50 clients, lease + result), for a like-for-like comparison line.
    ["1b", bound({ title: "1b single lease, 50 vols", volunteers: 50, max: 1, replication: { replicas: 1, quorum: 1 }, ...fast })],
    ["2", bound({ title: "2  batch of 16", volunteers: 200, max: 16, replication: { replicas: 1, quorum: 1 }, ...fast })],
    ["2r", bound({ title: "2r batch of 16, 2-of-2", volunteers: 200, max: 16, replication: { replicas: 2, quorum: 2 }, ...fast })],
    [
      "3",
      bound({
        title: "3  956 × ~4 s/shard",
        volunteers: 956,
        max: 1,
        replication: { replicas: 1, quorum: 1 },
        thinkMs: () => 3_500 + Math.random() * 1_000, // 4 s ± 0.5 s per shard
        staggerMs: 4_000,
        warmupMs: quick ? 6_000 : 8_000,
        measureMs: quick ? 8_000 : 35_000,
      }),
    ],
  ];
}

/** Server output after start-up, kept to show errors and warnings next to the scenario that caused them. */
class ServerLog {
  phase = "start-up";
  readonly lines: { phase: string; line: string }[] = [];
  take = (chunk: string) => {
    for (const line of chunk.split("\n")) if (line.trim()) this.lines.push({ phase: this.phase, line: line.trimEnd() });
  };
  report(): string {
    const interesting = this.lines.filter((l) => l.phase !== "start-up" || /error|exception|uncaught|✘/i.test(l.line));
    if (!interesting.length) return "Server output during the run: none (no errors or warnings).";
    const counts = new Map<string, number>();
    for (const l of interesting) {
      const key = `[${l.phase}] ${l.line.slice(0, 200)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const shown = [...counts].slice(0, 15).map(([k, n]) => `  ${n > 1 ? `${n}× ` : ""}${k}`);
    return [`Server output during the run: ${interesting.length} line(s)`, ...shown, counts.size > 15 ? `  … ${counts.size - 15} more distinct` : ""]
      .filter(Boolean)
      .join("\n");
  }
}

async function registerVolunteers(http: JsonClient, n: number): Promise<string[]> {
  return mapLimit(Array.from({ length: n }), 16, async () => (await http.must<{ token: string }>(201, "POST", "/v1/volunteers", { body: {} })).token);
}

function throughputTable(results: ScenarioResult[]): string {
  return table(
    [
      "scenario",
      "vols",
      "repl",
      "window s",
      "shards/s",
      "results/s",
      "req/s",
      "worst 1 s",
      "empty",
      "errors",
      "srv CPU",
      "srv CPU/req",
      "gen CPU",
      "gen lag p99",
    ],
    results.map(({ spec, window: w, serverShardsPerSec, cpu }) => [
      spec.title,
      spec.volunteers,
      `${spec.replication.quorum}/${spec.replication.replicas}`,
      num(w.seconds, 1),
      num(serverShardsPerSec, 0),
      num(w.results / w.seconds, 0),
      num(w.requests / w.seconds, 0),
      w.perSecond.length ? Math.min(...w.perSecond) : "-",
      w.emptyLeases,
      Object.values(w.errors).reduce((a, b) => a + b, 0),
      cpu.serverPct === undefined ? "-" : `${num(cpu.serverPct)}%`,
      cpu.serverPct === undefined || !w.requests ? "-" : `${num((cpu.serverPct * 10) / (w.requests / w.seconds), 1)} ms`,
      `${num(cpu.clientPct)}%`,
      `${num(cpu.clientLagP99Ms, 1)} ms`,
    ]),
  );
}

function latencyTable(results: ScenarioResult[]): string {
  const names: Record<Kind, string> = { lease: "lease", result: "result", roundTrip: "lease+result" };
  const rows: Cell[][] = [];
  for (const { spec, window: w } of results) {
    (["lease", "result", "roundTrip"] as const).forEach((kind, i) => {
      const s = w.latency[kind];
      if (!s) return;
      const label = kind === "result" && spec.max > 1 ? "result (batch)" : names[kind];
      rows.push([i === 0 ? spec.title : "", label, s.count, num(s.p50, 1), num(s.p90, 1), num(s.p99, 1), num(s.max, 1), num(s.mean, 1)]);
    });
  }
  return table(["scenario", "request", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"], rows);
}

function comparison(results: ScenarioResult[], floor: Calibration): string[] {
  const out = [
    `Prototype baseline (SETUP.md: ${BASELINE.clients} clients, one Durable Object, lease + result per shard): ` +
      `${BASELINE.roundTrips[0]}-${BASELINE.roundTrips[1]} round trips/s, p50 ${BASELINE.p50[0]}-${BASELINE.p50[1]} ms, p99 ${BASELINE.p99[0]}-${BASELINE.p99[1]} ms.`,
  ];
  const ratio = (v: number) => `${num(v / BASELINE.roundTrips[1], 1)}-${num(v / BASELINE.roundTrips[0], 1)}×`;
  for (const r of results) {
    const rt = r.window.latency.roundTrip;
    if (r.spec.thinkMs || !rt) continue;
    const unit = r.spec.max === 1 ? "round trips/s" : `shards/s (${r.spec.max} per round trip)`;
    out.push(
      `  ${r.spec.title} (${r.spec.volunteers} clients): ${num(r.serverShardsPerSec)} ${unit} = ${ratio(r.serverShardsPerSec)} the baseline; ` +
        `lease+result p50 ${num(rt.p50)} ms, p99 ${num(rt.p99)} ms; ` +
        `${num(r.window.requests / r.window.seconds)} req/s = ${num((r.window.requests / r.window.seconds / floor.requestsPerSec) * 100)}% of the /healthz floor.`,
    );
  }
  const s3 = results.find((r) => r.spec.thinkMs);
  if (s3) {
    const worst = Math.max(s3.window.latency.lease?.p99 ?? Number.NaN, s3.window.latency.result?.p99 ?? Number.NaN);
    const verdict = Number.isNaN(worst) ? "no data" : worst < GOAL_P99_MS ? "met" : "NOT met";
    out.push(
      `  ${s3.spec.title}: goal p99 < ${GOAL_P99_MS} ms per request ${verdict} ` +
        `(lease p99 ${num(s3.window.latency.lease?.p99, 1)} ms, result p99 ${num(s3.window.latency.result?.p99, 1)} ms ` +
        `at ${num(s3.serverShardsPerSec)} shards/s; offered about ${num(s3.spec.volunteers / 4)} shards/s = ${num(s3.spec.volunteers / 2)} req/s).`,
    );
  }
  return out;
}

/** Accepted results per second through each window: a 0 is a second in which nothing completed (a stall). */
function timelines(results: ScenarioResult[]): string[] {
  return [
    "Results accepted per second through each window (a 0 means nothing completed in that second):",
    ...results.map((r) => `  ${r.spec.title.padEnd(24)} ${r.window.perSecond.join(" ")}`),
  ];
}

function errorLines(results: ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const [label, n] of Object.entries(r.window.errors)) lines.push(`  ${r.spec.title}: ${n}× ${label}`);
  }
  for (const r of results) {
    if (!r.drained) lines.push(`  ${r.spec.title}: requests still unanswered 10 s after the window closed (aborted)`);
  }
  return lines.length ? ["Errors seen by volunteers (in the measurement windows):", ...lines] : ["Errors seen by volunteers: none."];
}

async function main(): Promise<void> {
  const all = scenarios(args.quick);
  const keys = args.only?.split(",").map((k) => k.trim());
  for (const k of keys ?? []) if (!all.some(([key]) => key === k)) throw new Error(`unknown scenario ${k}; choose from ${all.map(([key]) => key).join(", ")}`);
  const chosen = all.filter(([key]) => !keys || keys.includes(key)).map(([, spec]) => spec);

  console.log(`Colmeia coordinator benchmark${args.quick ? " (--quick)" : ""}`);
  console.log(hostLine());
  const log = new ServerLog();
  let server: LocalServer | undefined;
  const shutdown = async () => {
    await server?.stop();
    if (server) rmSync(server.stateDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void shutdown().then(() => process.exit(130)));

  try {
    const t = performance.now();
    server = await startLocalServer({ vars: { REGISTRATIONS_PER_MINUTE: "100000", SUBMIT_RATE_PER_MINUTE: "1000000" }, onOutput: log.take });
    if (args.client !== "http" && args.client !== "fetch") throw new Error("--client must be http or fetch");
    const http = new JsonClient(server.url, args.client);
    console.log(
      `Server: npm start (Miniflare, workerd) at ${server.url}, fresh state, ready in ${num((performance.now() - t) / 1000, 1)} s; ` +
        `volunteers use ${args.client === "fetch" ? "Node fetch" : "node:http"} with keep-alive`,
    );

    log.phase = "registration";
    const r0 = performance.now();
    const need = Math.max(...chosen.map((s) => s.volunteers));
    const tokens = await registerVolunteers(http, need);
    console.log(`Registered ${tokens.length} volunteers in ${num((performance.now() - r0) / 1000, 1)} s`);

    log.phase = "calibration";
    const floor = await calibrate(http, BASELINE.clients, 1_000, args.quick ? 3_000 : 5_000);
    const floorLine =
      `Stack floor on this machine now: GET /healthz (no Durable Object) from ${floor.clients} clients: ` +
      `${num(floor.requestsPerSec)} req/s, p50 ${num(floor.latency.p50, 1)} ms, p99 ${num(floor.latency.p99, 1)} ms` +
      (floor.errors ? `, ${floor.errors} errors` : "");
    console.log(floorLine);

    const results: ScenarioResult[] = [];
    for (const spec of chosen) {
      log.phase = spec.title.trim();
      process.stdout.write(
        `Running ${spec.title.replace(/\s+/, " ")}: ${spec.volunteers} volunteers, warm-up ${spec.warmupMs / 1000} s, measuring ${spec.measureMs / 1000} s … `,
      );
      const r = await runScenario(http, server.tokens[0], tokens, spec);
      results.push(r);
      console.log(`${num(r.serverShardsPerSec)} shards/s`);
    }
    log.phase = "shutdown";
    http.close();

    console.log("");
    console.log(
      "Throughput (shards/s: accepted by the coordinator, from the job's done count; results/s: 202s seen by volunteers; " +
        "the two differ when answers queue for seconds)",
    );
    console.log(throughputTable(results));
    console.log("");
    console.log("Latency per request, measured by the volunteers (includes the load generator's own queueing: see gen lag)");
    console.log(latencyTable(results));
    console.log("");
    console.log(floorLine);
    for (const line of comparison(results, floor)) console.log(line);
    console.log("");
    for (const line of timelines(results)) console.log(line);
    for (const line of errorLines(results)) console.log(line);
    console.log(log.report());
    console.log(
      "Note: load generator (gen) and server (srv: npm start + workerd) share the same cores; CPU is in % of one core, " +
        "srv CPU/req is server CPU time per request answered. Scenario 3 sleeps 3.5-4.5 s per shard, leasing singly.",
    );
    console.log(
      `Load average after the run: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(", ")} (1, 5, 15 min).`,
    );
  } finally {
    await shutdown();
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
}

/**
 * Session benchmark (issue 11): volunteers on WebSocket sessions (`GET /v1/session`) against a real
 * local server (`npm start`), and the HTTP figures for comparison.
 *
 *   node bench/sessions.ts                  everything (about 3 minutes)
 *   node bench/sessions.ts --quick          shorter windows
 *   node bench/sessions.ts --only=busy,idle,first,http
 *
 * busy:  956 session volunteers at 4 s per shard (lease, think 3.5-4.5 s, submit): request p99.
 * idle:  5,000 sessions waiting with no job running: messages and server CPU over a window,
 *        beside the same window with no session open.
 * first: with those sessions waiting, a job is created; time until its first shard reaches one.
 * http:  200 HTTP volunteers leasing singly, in batches of 16, and 956 at 4 s per shard
 *        (bench/lib/scenario.ts, the runs of bench/coordinator.ts).
 *
 * --gc:  also report the server's garbage collections in the busy window (V8's --trace-gc, through
 *        bench/lib/gc.ts): the full collections stop the one thread, and they set the busy p99.
 *
 * All traffic goes to 127.0.0.1; the load generator and the server share this machine's cores.
 */
import { parseArgs } from "node:util";
import { compute } from "../shared/kernels/compute.ts";
import type { Lease } from "../shared/schemas.ts";
import { SESSION_PROTOCOL, sessionTokenProtocol, type SessionMessage, type SessionReply, type SessionRequestInput } from "../shared/session.ts";
import { startLocalServer, type LocalServer } from "../test/support/local-server.ts";
import { CpuMeter, hostLine } from "./lib/cpu.ts";
import { GcTrace } from "./lib/gc.ts";
import { JsonClient, mapLimit, sleep } from "./lib/http.ts";
import { runScenario, type ScenarioSpec } from "./lib/scenario.ts";
import { Samples } from "./lib/stats.ts";
import { num, table, tally } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    // The Worker's V8 inspector on this port (attach DevTools or a CDP client to profile it).
    "inspector-port": { type: "string" },
    // A Worker var for the server, NAME:VALUE (repeatable), e.g. --var GATEWAY_COUNT:4.
    var: { type: "string", multiple: true },
    // The server's garbage collections in the busy window (V8's --trace-gc).
    gc: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  console.log("usage: node bench/sessions.ts [--quick] [--only=busy,idle,first,http] [--gc] [--inspector-port N] [--var NAME:VALUE ...]");
  process.exit(0);
}
const PARTS = ["busy", "idle", "first", "http"] as const;
const only = args.only?.split(",").map((p) => p.trim()) ?? [...PARTS];
for (const p of only) if (!PARTS.includes(p as never)) throw new Error(`unknown part ${p}; choose from ${PARTS.join(", ")}`);
const run = (p: (typeof PARTS)[number]) => only.includes(p);

type Request = SessionRequestInput extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

/** One volunteer's session: requests answered by id, pushed work handed to `onWork`. */
class Session {
  #next = 1;
  readonly #pending = new Map<number, (r: SessionReply) => void>();
  received = 0;
  closed = false;
  onWork: (leases: Lease[]) => void = () => {};

  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (e) => {
      this.received++;
      const m = JSON.parse(String(e.data)) as SessionMessage;
      if (m.type === "reply" && typeof m.id === "number") this.#pending.get(m.id)?.(m), this.#pending.delete(m.id);
      else if (m.type === "work") this.onWork(m.leases);
    });
    ws.addEventListener("close", () => {
      this.closed = true;
      for (const done of this.#pending.values()) done({ type: "reply", id: null, status: 0, body: { error: { code: "closed" } } });
      this.#pending.clear();
    });
  }

  static open(base: string, token: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/session`, [SESSION_PROTOCOL, sessionTokenProtocol(token)]);
      const s = new Session(ws);
      const ready = (e: MessageEvent) => {
        if ((JSON.parse(String(e.data)) as SessionMessage).type !== "ready") return;
        ws.removeEventListener("message", ready);
        resolve(s);
      };
      ws.addEventListener("message", ready);
      ws.addEventListener("error", () => reject(new Error("session failed to open")), { once: true });
    });
  }

  request(req: Request): Promise<SessionReply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ ...req, id }));
    });
  }

  close(): void {
    this.ws.close(1000);
  }
}

interface JobStatus {
  id: string;
  shards: { done: number };
}

async function register(http: JsonClient, n: number): Promise<string[]> {
  const got = await mapLimit(Array.from({ length: n }), 32, () => http.must<{ token: string }>(201, "POST", "/v1/volunteers"));
  return got.map((v) => v.token);
}

const createJob = (http: JsonClient, token: string, shards: number, step = 10) =>
  http.must<JobStatus>(201, "POST", "/v1/jobs", {
    token,
    body: { kernel: "primes.count", range: { start: 0, end: shards * step, step }, replication: { replicas: 1, quorum: 1 }, leaseTtlMs: 60_000 },
  });

const openAll = (server: LocalServer, tokens: string[]) =>
  mapLimit(tokens, 64, async (t, i) => {
    if (i && i % 1000 === 0) console.log(`  ${i} sessions open`);
    return Session.open(server.url, t);
  });

/** 956 session volunteers at 4 s per shard: request round trips and shards/s over the window. */
async function busy(server: LocalServer, http: JsonClient, tokens: string[], quick: boolean, gc: GcTrace | undefined): Promise<string[]> {
  const job = await createJob(http, server.tokens[0], 5_000_000);
  const sessions = await openAll(server, tokens.slice(0, 956));
  const latency = { lease: new Samples(), results: new Samples() };
  const errors = new Map<string, number>();
  let measuring = false;
  let stop = false;
  const timed = async (s: Session, kind: "lease" | "results", req: Request) => {
    const t = performance.now();
    const r = await s.request(req);
    if (measuring) latency[kind].add(performance.now() - t);
    // Once stopping, sessions close under requests still on their way (answered status 0 here): not the server's errors.
    if (r.status !== 200 && !stop) errors.set(`${kind} ${r.status}`, (errors.get(`${kind} ${r.status}`) ?? 0) + 1);
    return r;
  };
  const loop = async (s: Session) => {
    await sleep(Math.random() * 4000);
    while (!stop && !s.closed) {
      const pushed = new Promise<Lease[]>((resolve) => (s.onWork = resolve));
      const r = await timed(s, "lease", { type: "lease", max: 1, wait: true });
      let leases = r.status === 200 ? (r.body as { leases: Lease[] }).leases : [];
      if (!leases.length) leases = await Promise.race([pushed, sleep(10_000).then(() => [])]);
      if (!leases.length) continue;
      await sleep(3_500 + Math.random() * 1_000);
      if (stop) return;
      const sent = await timed(s, "results", {
        type: "results",
        results: leases.map((l) => ({ leaseId: l.id, output: compute[l.kernel]!(l.input, l.params) })),
      });
      for (const e of (sent.body as { results?: { status: number }[] }).results ?? [])
        if (e.status !== 202 && !stop) errors.set(`entry ${e.status}`, (errors.get(`entry ${e.status}`) ?? 0) + 1);
    }
  };
  const all = Promise.all(sessions.map(loop));
  await sleep(quick ? 8_000 : 10_000);
  const done = async () => (await http.must<JobStatus>(200, "GET", `/v1/jobs/${job.id}`, { token: server.tokens[0] })).shards.done;
  const d0 = await done();
  const t0 = performance.now();
  const cpu = new CpuMeter();
  cpu.start();
  measuring = true;
  const window = { from: performance.now(), to: 0 };
  await sleep(quick ? 12_000 : 30_000);
  window.to = performance.now();
  measuring = false;
  const c = cpu.stop();
  const rate = ((await done()) - d0) / ((performance.now() - t0) / 1000);
  stop = true;
  await http.must(200, "DELETE", `/v1/jobs/${job.id}`, { token: server.tokens[0] });
  sessions.forEach((s) => s.close());
  await Promise.race([all, sleep(10_000)]);
  const l = latency.lease.summary();
  const r = latency.results.summary();
  return [
    `busy: 956 session volunteers, 4 s ± 0.5 s per shard, leasing singly (lease with wait, results as a batch of one)`,
    table(
      ["request", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
      [
        ["lease", l.count, num(l.p50, 1), num(l.p90, 1), num(l.p99, 1), num(l.max, 1)],
        ["results", r.count, num(r.p50, 1), num(r.p90, 1), num(r.p99, 1), num(r.max, 1)],
      ],
    ),
    `  ${num(rate)} shards/s accepted (offered about 239/s); server CPU ${num(c.serverPct)}% of one core, load generator ${num(c.clientPct)}%; ` +
      `errors: ${errors.size ? tally(errors) : "none"}`,
    ...(gc ? [gc.line(window.from, window.to)] : []),
  ];
}

/** 5,000 waiting sessions and no job: what they cost over a window, and how fast a new job's first shard reaches one. */
async function idleAndFirst(server: LocalServer, http: JsonClient, tokens: string[], quick: boolean): Promise<string[]> {
  const out: string[] = [];
  const windowMs = quick ? 5_000 : 10_000;
  const measure = async () => {
    const cpu = new CpuMeter();
    cpu.start();
    await sleep(windowMs);
    return cpu.stop();
  };
  await sleep(2_500); // the running list and any re-offer settle after earlier parts
  const bare = await measure();
  const t = performance.now();
  const sessions = await openAll(server, tokens.slice(0, 5_000));
  const refused = new Map<string, number>();
  const waitAll = () =>
    mapLimit(sessions, 256, async (s) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const r = await s.request({ type: "lease", max: 1, wait: true });
        if (r.status === 200 && !(r.body as { leases: Lease[] }).leases.length) return;
        const key = `${r.status} ${JSON.stringify(r.body).slice(0, 120)}`;
        refused.set(key, (refused.get(key) ?? 0) + 1);
        await sleep(500);
      }
    });
  await waitAll();
  out.push(
    `idle: ${sessions.length} sessions opened and waiting in ${num((performance.now() - t) / 1000, 1)} s` +
      (refused.size ? `; lease answers other than an empty list (retried): ${tally(refused, "; ")}` : ""),
  );
  await sleep(2_500);
  const before = sessions.reduce((n, s) => n + s.received, 0);
  const held = await measure();
  const pushed = sessions.reduce((n, s) => n + s.received, 0) - before;
  out.push(
    table(
      ["window", "seconds", "messages sent", "messages received", "server CPU", "sessions closed"],
      [
        ["no session open", windowMs / 1000, 0, 0, `${num(bare.serverPct, 1)}%`, "-"],
        [`${sessions.length} sessions waiting`, windowMs / 1000, 0, pushed, `${num(held.serverPct, 1)}%`, sessions.filter((s) => s.closed).length],
      ],
    ),
  );
  if (!run("first")) return (sessions.forEach((s) => s.close()), out);

  const trials: number[][] = [];
  for (let i = 0; i < (quick ? 3 : 5); i++) {
    let first: number | undefined;
    const reached = new Promise<void>((resolve) => {
      for (const s of sessions) s.onWork = () => ((first ??= performance.now()), resolve());
    });
    const t0 = performance.now();
    const job = await createJob(http, server.tokens[0], 100);
    const created = performance.now();
    await Promise.race([reached, sleep(5_000)]);
    trials.push([created - t0, (first ?? Number.NaN) - t0]);
    await sleep(500);
    await http.must(200, "DELETE", `/v1/jobs/${job.id}`, { token: server.tokens[0] });
    await sleep(1_200); // the cancelled job leaves the isolates' running lists
    await waitAll();
  }
  out.push(
    `first: a 100-shard job created while ${sessions.length} sessions wait; ms from sending POST /v1/jobs`,
    table(
      ["trial", "POST answered", "first shard at a volunteer"],
      trials.map(([c, f], i) => [i + 1, num(c, 1), num(f, 1)]),
    ),
  );
  sessions.forEach((s) => s.close());
  return out;
}

/** The HTTP runs of bench/coordinator.ts (200 × 1, 200 × 16, 956 × 4 s). */
async function httpRuns(server: LocalServer, http: JsonClient, tokens: string[], quick: boolean): Promise<string[]> {
  const fast = {
    warmupMs: quick ? 2_000 : 3_000,
    measureMs: quick ? 5_000 : 15_000,
    staggerMs: 500,
    replication: { replicas: 1, quorum: 1 },
    maxRequests: 1e9,
  };
  const specs: ScenarioSpec[] = [
    { title: "200 × single", volunteers: 200, max: 1, ...fast },
    { title: "200 × batch of 16", volunteers: 200, max: 16, ...fast },
    {
      ...fast,
      title: "956 × 4 s/shard",
      volunteers: 956,
      max: 1,
      thinkMs: () => 3_500 + Math.random() * 1_000,
      staggerMs: 4_000,
      warmupMs: 8_000,
      measureMs: quick ? 10_000 : 25_000,
    },
  ];
  const rows = [];
  const named: string[] = [];
  for (const spec of specs) {
    const r = await runScenario(http, server.tokens[0], tokens, spec);
    const rt = r.window.latency;
    const errors = Object.values(r.window.errors).reduce((a, b) => a + b, 0);
    if (errors) named.push(`  errors in ${spec.title}: ${tally(Object.entries(r.window.errors))}`);
    rows.push([
      spec.title,
      num(r.serverShardsPerSec),
      num(rt.lease?.p50, 1),
      num(rt.lease?.p99, 1),
      num(rt.result?.p99, 1),
      errors,
      `${num(r.cpu.serverPct)}%`,
    ]);
  }
  return [
    "http: HTTP volunteers (bench/lib/scenario.ts)",
    table(["scenario", "shards/s", "lease p50 ms", "lease p99 ms", "result p99 ms", "errors", "server CPU"], rows),
    ...named,
  ];
}

async function main(): Promise<void> {
  console.log(`Colmeia session benchmark${args.quick ? " (--quick)" : ""}: ${only.join(", ")}`);
  console.log(hostLine());
  const serverErrors: string[] = [];
  const gc = args.gc ? GcTrace.setUp() : undefined;
  const server = await startLocalServer({
    env: gc?.env,
    vars: { REGISTRATIONS_PER_MINUTE: "1000000", SUBMIT_RATE_PER_MINUTE: "1000000" },
    args: [...(args["inspector-port"] ? ["--inspector-port", args["inspector-port"]] : []), ...(args.var ?? []).flatMap((v) => ["--var", v])],
    onOutput: (chunk) => {
      gc?.take(chunk);
      serverErrors.push(...chunk.split("\n").filter((l) => /error|exception/i.test(l)));
    },
  });
  process.once("SIGINT", () => void server.stop().then(() => process.exit(130)));
  const http = new JsonClient(server.url);
  try {
    const t = performance.now();
    const tokens = await register(http, run("idle") || run("first") ? 5_000 : 956);
    console.log(`Registered ${tokens.length} volunteers in ${num((performance.now() - t) / 1000, 1)} s`);
    const say = (lines: string[]) => console.log(lines.join("\n"));
    if (run("http")) say(await httpRuns(server, http, tokens, args.quick));
    if (run("busy")) say(await busy(server, http, tokens, args.quick, gc));
    if (run("idle") || run("first")) say(await idleAndFirst(server, http, tokens, args.quick));
  } finally {
    http.close();
    await server.stop();
    gc?.cleanUp();
    console.log(serverErrors.length ? `Server errors (${serverErrors.length}), first 5:\n${serverErrors.slice(0, 5).join("\n")}` : "Server errors: none.");
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
}

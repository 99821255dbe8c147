import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countWords } from "../../shared/kernels/wordcount.ts";
import { JobStatus } from "../../shared/schemas.ts";
import { backgroundVolunteer, COLMEIA_BIN, runColmeia, type Run } from "../support/cli.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

// The real `colmeia` binary against a real local coordinator (npm start), with real Node volunteers.

const work = mkdtempSync(join(tmpdir(), "colmeia-cli-"));
let server: LocalServer;

/** The CLI with this server and the first token; `env` adds or overrides variables. */
const colmeia = (args: string[], env: Record<string, string> = {}) =>
  runColmeia(args, { env: { COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], ...env } });
const volunteer = (threads: number) => backgroundVolunteer(server.url, threads);

async function fetchJson(path: string, token = server.tokens[0]): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return res.json();
}

/** A deterministic corpus: many scripts, accents, CJK, emoji, CRLF and LF, some very long lines. */
function corpus(bytes: number): string {
  const words = [
    "Olá",
    "coração",
    "AÇÃO",
    "naïve",
    "Straße",
    "東京",
    "日本語",
    "слово",
    "Ελλάδα",
    "emoji😀ok",
    "x2",
    "42",
    "The",
    "the",
    "don't",
    "a-b",
    "ﬁne",
  ];
  let seed = 42;
  const next = () => (seed = (seed * 48271) % 2147483647);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 1 + (next() % (next() % 100 === 0 ? 4000 : 20));
    const line = Array.from({ length: n }, () => words[next() % words.length] + (next() % 10 === 0 ? `w${next() % 2000}` : "")).join(next() % 2 ? " " : ", ");
    lines.push(line + (next() % 3 === 0 ? "\r\n" : "\n"));
    size += Buffer.byteLength(lines.at(-1)!);
  }
  return lines.join("");
}

beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("colmeia against a local coordinator", () => {
  it("submits a range job that a Node volunteer computes to the right prime count", async () => {
    const v = volunteer(2);
    await v.started;
    const run = await colmeia(["submit", "primes.count", "--range", "0:2_000_000:100_000", "--replicas", "1", "--watch", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const final = JSON.parse(run.stdout);
    expect(final).toMatchObject({ state: "done", shards: { total: 20, done: 20, failed: 0 } });

    const result = await colmeia(["result", final.id, "--json"]);
    expect(JSON.parse(result.stdout)).toEqual({ id: final.id, result: { count: 148_933 } });
    const human = await colmeia(["result", final.id]);
    expect(JSON.parse(human.stdout)).toEqual({ count: 148_933 });

    expect(await v.interrupt()).toBe(0);
    expect(v.stderr()).toMatch(/Stopped\. \d+ results? accepted/);
  });

  it("splits a large wordcount file at line boundaries and merges to exactly the counts of a direct count", async () => {
    const text = corpus(3 * 1024 * 1024);
    const file = join(work, "corpus.txt");
    writeFileSync(file, text);
    const v = volunteer(2);
    await v.started;
    const submitted = await colmeia(["submit", "wordcount", "--file", file, "--chunk", "64KiB", "--replicas", "1", "--json"]);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job.shards.total).toBeGreaterThanOrEqual(48);

    const watched = await colmeia(["status", job.id, "--watch", "--json"]);
    expect(JSON.parse(watched.stdout).state).toBe("done");
    const { result } = JSON.parse((await colmeia(["result", job.id, "--json"])).stdout);
    expect(result).toEqual(countWords({ text: readFileSync(file, "utf8") }));
    expect(await v.interrupt()).toBe(0);
  });

  it("refuses a corpus over one job's size limit unless --split-jobs, then merges the parts' results", async () => {
    const file = join(work, "big.txt");
    writeFileSync(file, corpus(9 * 1024 * 1024));
    const refused = await colmeia(["submit", "wordcount", "--file", file, "--chunk", "256KiB", "--replicas", "1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/add --split-jobs to submit it as 2 jobs/);

    const v = volunteer(2);
    await v.started;
    const run = await colmeia(["submit", "wordcount", "--file", file, "--chunk", "256KiB", "--replicas", "1", "--split-jobs", "--watch", "--json"]);
    expect(run.code).toBe(0);
    const { jobs } = JSON.parse(run.stdout);
    expect(jobs.map((j: { state: string }) => j.state)).toEqual(["done", "done"]);
    expect(jobs[0].label).toBe("big.txt (part 1/2)");

    const merged = JSON.parse((await colmeia(["result", ...jobs.map((j: { id: string }) => j.id), "--json"])).stdout);
    expect(merged.result).toEqual(countWords({ text: readFileSync(file, "utf8") }));
    expect(await v.interrupt()).toBe(0);
  });

  it("prints with --json exactly what the coordinator answers", async () => {
    const env = { COLMEIA_TOKEN: server.tokens[1] };
    const shards = join(work, "shards.jsonl");
    writeFileSync(shards, '{"start":0,"end":100}\n\n{"start":100,"end":200}\n');
    const created = JSON.parse((await colmeia(["submit", "primes.count", "--shards", shards, "--label", "exact", "--json"], env)).stdout);
    expect(created).toMatchObject({ state: "running", shards: { total: 2, done: 0, failed: 0 } });

    const cancelled = JSON.parse((await colmeia(["cancel", created.id, "--json"], env)).stdout);
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled).toEqual(await fetchJson(`/v1/jobs/${created.id}`, server.tokens[1]));
    expect(JSON.parse((await colmeia(["status", created.id, "--json"], env)).stdout)).toEqual(cancelled);
    expect(JSON.parse((await colmeia(["list", "--json"], env)).stdout)).toEqual(await fetchJson("/v1/jobs", server.tokens[1]));

    const watched = await colmeia(["status", created.id, "--watch"], env);
    expect(watched.code).toBe(3);
    expect(watched.stderr).toMatch(/cancelled/);
  });

  it("reports the coordinator's refusals as one line and exit 1", async () => {
    const missing = await colmeia(["status", "j_0000000000000000"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*HTTP 404/);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);

    const stranger = await colmeia(["list"], { COLMEIA_TOKEN: "not-a-token" });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/^error: .*HTTP 401/);

    const unknownKernel = await colmeia(["submit", "nope.kernel", "--range", "0:10:1"]);
    expect(unknownKernel.code).toBe(1);
    expect(unknownKernel.stderr).toMatch(/^error: kernel: unknown kernel/);
  });

  it("renders a live progress bar with rate and ETA on a terminal", async () => {
    const v = volunteer(2);
    await v.started;
    const command = [process.execPath, COLMEIA_BIN, "submit", "primes.count", "--range", "0:20_000_000:200_000", "--replicas", "1", "--watch"]
      .map((a) => `'${a}'`)
      .join(" ");
    // util-linux `script` gives the command a pseudo-terminal; its output is what a user would see.
    const run = await new Promise<Run>((ok) => {
      const child = spawn("script", ["-qfec", command, "/dev/null"], {
        env: { ...process.env, COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], COLUMNS: "120" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d) => (stdout += d));
      child.on("close", (code) => ok({ code, stdout, stderr: "" }));
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/[█░]{30} 100% \| 100\/100 shards \| [\d.,]+\/s \| ETA 0s/);
    expect(run.stdout).toContain("\x1b[?25l"); // the bar hides the cursor while drawing...
    expect(run.stdout).toContain("\x1b[?25h"); // ...and gives it back
    expect(run.stdout).toMatch(/"count": 1270607/);
    expect(await v.interrupt()).toBe(0);
  });

  it("Ctrl-C on a volunteer finishes its running shard and gives back the rest, so others carry on at once", async () => {
    // Long leases: a shard the stopped volunteer kept would block the job for 10 minutes.
    const start = 1e12;
    const range = `${start}:${start + 24 * 10_000_000}:10000000`;
    const job = JSON.parse((await colmeia(["submit", "primes.count", "--range", range, "--replicas", "1", "--lease-ttl", "10m", "--json"])).stdout);
    const first = volunteer(1);
    await first.started;
    for (let done = 0; done < 1; ) {
      await new Promise((r) => setTimeout(r, 100));
      done = JobStatus.parse(await fetchJson(`/v1/jobs/${job.id}`)).shards.done;
    }
    expect(await first.interrupt()).toBe(0);
    expect(first.stderr()).toMatch(/Stopping: .*handing in results/);

    const second = volunteer(2);
    const watched = await colmeia(["status", job.id, "--watch", "--json"]);
    expect(JSON.parse(watched.stdout).shards).toEqual({ total: 24, done: 24, failed: 0, awaitingConfirmation: 0 });
    expect(await second.interrupt()).toBe(0);
  });

  it("a second Ctrl-C abandons running shards, gives them back and exits 130", async () => {
    // Shards of several seconds each (the widest span, near 2^53 where the base primes are many),
    // so the interrupt always finds shards running.
    const start = 9e15;
    const range = `${start}:${start + 8 * 100_000_000}:100000000`;
    const job = JSON.parse((await colmeia(["submit", "primes.count", "--range", range, "--replicas", "1", "--lease-ttl", "10m", "--json"])).stdout);
    const first = volunteer(2);
    await first.started;
    await new Promise((r) => setTimeout(r, 1500)); // long enough to hold leases, too short to finish one
    expect(await first.interrupt(2)).toBe(130);
    expect(first.stderr()).toMatch(/Abandoning running shards/);

    const second = volunteer(2);
    const watched = await colmeia(["status", job.id, "--watch", "--json"]);
    expect(JSON.parse(watched.stdout).shards).toEqual({ total: 8, done: 8, failed: 0, awaitingConfirmation: 0 });
    expect(await second.interrupt()).toBe(0);
  });
});

import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Every server a test starts carries a mark in its environment. Its children (the leash, wrangler,
// workerd, esbuild) inherit it, so the whole tree is found by the mark even after a parent died
// and the rest were reparented or moved to a process group of their own.

/** Set by the global setup to this run's folder; servers' marks start with it. */
export const RUN_DIR_ENV = "COLMEIA_TEST_RUN_DIR";
/** The environment variable that marks a server's process tree. */
export const MARK_ENV = "COLMEIA_TEST_SERVER";
const REGISTRY = "servers.jsonl";

/** What a test started, as written to the run's registry (one JSON object a line). */
export interface ServerRecord {
  mark: string;
  pid: number;
  port?: number;
  stateDir?: string;
  /** The first stack frame outside the test support code: the test or bench that started it. */
  startedBy: string;
}

export interface MarkedProcess {
  pid: number;
  mark: string;
  cmdline: string;
}

/** A fresh mark for one server, scoped to this test run when there is one. */
export function newMark(): string {
  return `${process.env[RUN_DIR_ENV] ?? `pid-${process.pid}`}|${randomBytes(6).toString("hex")}`;
}

/** The prefix every mark of the run in `runDir` starts with. */
export const runPrefix = (runDir: string) => `${runDir}|`;

/** Notes a spawned server in the run's registry, so the global teardown can name who leaked it. */
export function recordServer(entry: Omit<ServerRecord, "startedBy">, runDir = process.env[RUN_DIR_ENV]): void {
  if (!runDir) return;
  const record: ServerRecord = { ...entry, startedBy: caller() };
  appendFileSync(join(runDir, REGISTRY), `${JSON.stringify(record)}\n`);
}

/** Every server recorded in the run's folder. */
export function readRecords(runDir: string): ServerRecord[] {
  const file = join(runDir, REGISTRY);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ServerRecord);
}

/**
 * Live processes whose mark starts with `prefix`. Reads /proc (Linux); elsewhere only the
 * recorded top-level pids of `records` can be checked, with `process.kill(pid, 0)`.
 */
export function markedProcesses(prefix: string, records: ServerRecord[] = []): MarkedProcess[] {
  if (!existsSync("/proc/self/environ")) {
    return records.filter((r) => r.mark.startsWith(prefix) && isAlive(r.pid)).map((r) => ({ pid: r.pid, mark: r.mark, cmdline: "?" }));
  }
  const found: MarkedProcess[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      // A zombie's environ reads empty: it holds no port and is not counted.
      const entry = readFileSync(`/proc/${pid}/environ`, "latin1")
        .split("\0")
        .find((e) => e.startsWith(`${MARK_ENV}=${prefix}`));
      if (!entry) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
      found.push({ pid, mark: entry.slice(MARK_ENV.length + 1), cmdline });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * Waits up to `graceMs` for every process marked with `prefix` to exit, then SIGKILLs the rest and
 * waits for them. Returns the processes that had to be killed (empty when all left in time).
 */
export async function reapMarked(prefix: string, graceMs: number, records: ServerRecord[] = []): Promise<MarkedProcess[]> {
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(prefix, records);
  while (left.length && Date.now() < deadline) {
    await sleep(100);
    left = markedProcesses(prefix, records);
  }
  if (!left.length) return [];
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  const killDeadline = Date.now() + 5_000;
  while (markedProcesses(prefix, records).length && Date.now() < killDeadline) await sleep(50);
  return left;
}

/** SIGKILLs every process marked with `prefix` at once, without waiting (for `process.on("exit")`). */
export function killMarkedNow(prefix: string): void {
  for (const p of markedProcesses(prefix)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function caller(): string {
  const frames = (new Error().stack ?? "").split("\n").slice(1);
  const outside = frames.find((f) => !f.includes("/test/support/") && !f.includes("node:internal") && /\(?(file:\/\/)?\//.test(f));
  return outside?.trim().replace(/^at\s+/, "") ?? "unknown";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

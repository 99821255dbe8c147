import { describeThrown, timeLimitError, type ComputeReply, type KernelTask } from "../../shared/kernels/task.ts";
import { LIMITS } from "../../shared/limits.ts";

export type { ComputeReply, KernelTask };

/**
 * One isolated worker that runs kernels: a Web Worker behind Comlink in the page, a
 * worker_thread in Node. `compute` may also reject (worker crashed); `terminate` must kill it
 * even mid-computation.
 */
export interface KernelWorker {
  compute(task: KernelTask): Promise<ComputeReply>;
  terminate(): void;
}

/**
 * How a shard went: its output, or why there is none. `ms` is the time it took. Reasons:
 * the kernel threw (`error`), ran out of time (`timeout`), its worker died (`crash`: out of
 * memory, or the worker failed to start), or this volunteer cannot run it (`unsupported`).
 */
export type RunOutcome =
  | { ok: true; output: unknown; ms: number }
  | { ok: false; reason: "error" | "timeout" | "crash" | "unsupported"; error: string; ms: number };

/** Runs tasks on a set of isolated workers; a bad kernel costs one worker, never the host. */
export interface KernelPool {
  /** Runs one task; never rejects. Concurrent calls run on distinct workers. */
  run(task: KernelTask, opts?: { timeoutMs?: number }): Promise<RunOutcome>;
  /** Keep at most `n` idle workers warm. */
  resize(n: number): void;
  /** Starts workers until there are as many as the pool's size, so the first shards do not wait for one to load. */
  warm(): void;
  /** Terminates every worker. */
  close(): void;
}

/** Options of {@link createKernelPool}. */
export interface KernelPoolOptions {
  /** Starts a fresh worker. */
  spawn: () => KernelWorker;
  /** Idle workers to keep (usually the thread count). Default 1. */
  size?: number;
  /** Default per-shard time limit in ms; a shard over it is a hang. Default 120 000. */
  timeoutMs?: number;
  /**
   * The kernel a task leaves its worker dedicated to, if any: a worker that ran a published JS
   * kernel (which could have changed the worker's globals) then runs only that kernel; other
   * tasks get a fresh worker. Default: none (every worker runs every task).
   */
  dedicate?: (task: KernelTask) => string | undefined;
  now?: () => number;
}

/**
 * A worker's reply as this side reads it, never as the worker's realm says: a kernel runs in
 * that realm and may have replaced its `JSON` or `Object.assign`, so a reply of the wrong shape
 * is a crash, and an output is kept only as the JSON text this side makes of it (within the
 * contract's size), read back here: nothing unsendable ever reaches the outbox.
 */
function checkedReply(reply: unknown, task: KernelTask): ComputeReply | { crashed: string } {
  if (reply === null || typeof reply !== "object") return { crashed: "the kernel's worker answered something that is not a reply" };
  const r = reply as Record<string, unknown>;
  // "Cannot run" (hand the shard back) is about a built-in this volunteer lacks: a published
  // kernel claiming it would have every volunteer hand its shards back, and its job never end.
  if (r.ok === false) return { ok: false, error: String(r.error), ...(r.cannotRun === true && !task.module && { cannotRun: true }) };
  if (r.ok !== true) return { crashed: "the kernel's worker answered something that is not a reply" };
  let text: string | undefined;
  try {
    text = JSON.stringify(r.output);
  } catch (err) {
    return { ok: false, error: `Error: the output is not JSON (${describeThrown(err)})` };
  }
  if (text === undefined) return { ok: false, error: "Error: the output is not JSON (nothing to send)" };
  if (text.length > LIMITS.outputBytes) return { ok: false, error: `Error: the output exceeds ${LIMITS.outputBytes} characters of JSON` };
  return { ok: true, output: JSON.parse(text) };
}

/**
 * Creates a KernelPool. A task that throws, crashes its worker or exceeds its time limit
 * gets its worker terminated and replaced; the caller gets `{ ok: false }` to act on
 * (release the lease, show the error).
 * @example
 * const pool = createKernelPool({ spawn: () => webKernelWorker(), size: 3 });
 * const outcome = await pool.run({ kernel: "primes.count", params: {}, input: { start: 0, end: 100 } });
 */
export function createKernelPool(opts: KernelPoolOptions): KernelPool {
  const now = opts.now ?? Date.now;
  let size = Math.max(1, opts.size ?? 1);
  let idle: KernelWorker[] = [];
  const busy = new Set<KernelWorker>();
  const owner = new Map<KernelWorker, string>();
  let closed = false;

  const retire = (worker: KernelWorker) => {
    owner.delete(worker);
    try {
      worker.terminate();
    } catch {}
  };
  const giveBack = (worker: KernelWorker) => {
    busy.delete(worker);
    if (!closed && idle.length < size) idle.push(worker);
    else retire(worker);
  };
  const replace = (worker: KernelWorker) => {
    busy.delete(worker);
    retire(worker);
    if (!closed && idle.length + busy.size < size) idle.push(opts.spawn());
  };

  /** An idle worker fit for a task dedicated to `key` (undefined: a clean one), else a fresh one. */
  const pick = (key: string | undefined) => {
    let at = idle.findLastIndex((w) => owner.get(w) === key);
    if (at < 0 && key !== undefined) at = idle.findLastIndex((w) => !owner.has(w));
    if (at >= 0) return idle.splice(at, 1)[0]!;
    // None fits: a worker dedicated to another kernel makes room.
    const other = idle.findIndex((w) => owner.has(w));
    if (other >= 0) retire(idle.splice(other, 1)[0]!);
    return opts.spawn();
  };

  return {
    async run(task, runOpts = {}) {
      if (closed) throw new Error("KernelPool.run called after close()");
      const timeoutMs = runOpts.timeoutMs ?? opts.timeoutMs ?? 120_000;
      const key = opts.dedicate?.(task);
      const worker = pick(key);
      busy.add(worker);
      const started = now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      let reply: ComputeReply | "timeout" | { crashed: string };
      try {
        const answer = await Promise.race([worker.compute(task), timedOut]);
        reply = answer === "timeout" ? answer : checkedReply(answer, task);
      } catch (err) {
        reply = { crashed: `the kernel's worker died: ${(err as Error)?.message ?? err}` };
      } finally {
        clearTimeout(timer);
      }
      const ms = now() - started;
      if (reply === "timeout") {
        replace(worker);
        return { ok: false, reason: "timeout", error: describeThrown(timeLimitError(timeoutMs)), ms };
      }
      if ("crashed" in reply) {
        replace(worker);
        return { ok: false, reason: "crash", error: reply.crashed, ms };
      }
      if (!reply.ok) {
        // A kernel that threw (or whose output cannot be sent) may have left its worker in any state: start afresh.
        replace(worker);
        return { ok: false, reason: reply.cannotRun ? "unsupported" : "error", error: reply.error, ms };
      }
      if (key !== undefined) owner.set(worker, key);
      giveBack(worker);
      return { ok: true, output: reply.output, ms };
    },
    warm() {
      while (!closed && idle.length + busy.size < size) idle.push(opts.spawn());
    },
    resize(n) {
      size = Math.max(1, n);
      while (idle.length > size) retire(idle.pop()!);
    },
    close() {
      closed = true;
      for (const worker of [...idle, ...busy]) retire(worker);
      idle = [];
      busy.clear();
    },
  };
}

/** One unit of kernel work: what a lease asks to compute. */
export interface KernelTask {
  kernel: string;
  params: unknown;
  input: unknown;
}

/** A kernel's answer across a worker boundary (classes do not cross it; plain values do). */
export type ComputeReply = { ok: true; output: unknown } | { ok: false; error: string };

/**
 * One isolated worker that runs kernels: a Web Worker behind Comlink in the page, a
 * worker_thread in Node. `compute` may also reject (worker crashed); `terminate` must kill it
 * even mid-computation.
 */
export interface KernelWorker {
  compute(task: KernelTask): Promise<ComputeReply>;
  terminate(): void;
}

/** How a shard went: its output, or why there is none. `ms` is the time it took. */
export type RunOutcome =
  | { ok: true; output: unknown; ms: number }
  | { ok: false; reason: "error" | "timeout"; error: string; ms: number };

/** Runs tasks on a set of isolated workers; a bad kernel costs one worker, never the host. */
export interface KernelPool {
  /** Runs one task; never rejects. Concurrent calls run on distinct workers. */
  run(task: KernelTask, opts?: { timeoutMs?: number }): Promise<RunOutcome>;
  /** Keep at most `n` idle workers warm. */
  resize(n: number): void;
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
  now?: () => number;
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
  let closed = false;

  const retire = (worker: KernelWorker) => {
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

  return {
    async run(task, runOpts = {}) {
      if (closed) throw new Error("KernelPool.run called after close()");
      const timeoutMs = runOpts.timeoutMs ?? opts.timeoutMs ?? 120_000;
      const worker = idle.pop() ?? opts.spawn();
      busy.add(worker);
      const started = now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      let reply: ComputeReply | "timeout";
      try {
        reply = await Promise.race([worker.compute(task), timedOut]);
      } catch (err) {
        reply = { ok: false, error: `worker crashed: ${(err as Error)?.message ?? err}` };
      } finally {
        clearTimeout(timer);
      }
      const ms = now() - started;
      if (reply === "timeout") {
        replace(worker);
        return { ok: false, reason: "timeout", error: `${task.kernel} exceeded the ${timeoutMs} ms shard time limit`, ms };
      }
      if (!reply.ok) {
        // A kernel that threw may have left its worker in any state: start afresh.
        replace(worker);
        return { ok: false, reason: "error", error: reply.error, ms };
      }
      giveBack(worker);
      return { ok: true, output: reply.output, ms };
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

import type { VolunteerApi } from "./api.ts";
import { createBackoff, type BackoffOptions } from "./backoff.ts";
import { runHeartbeats } from "./heartbeats.ts";
import { createInputLoader, type InputLoader } from "./inputs.ts";
import { createLeaseBook } from "./lease-book.ts";
import { runLeaser } from "./leaser.ts";
import type { ModuleLoader } from "./modules.ts";
import type { Outbox } from "./outbox.ts";
import type { KernelPool } from "./pool.ts";
import { prefetchFor } from "./prefetch.ts";
import { runShard } from "./shard-runner.ts";
import { createNotifier } from "./notifier.ts";
import { sleep } from "./sleep.ts";
import { createResultSender } from "./result-sender.ts";
import type { Connection, HeldLease, KernelErrorReason, Lease, VolunteerEvent, VolunteerStatus } from "./types.ts";

/** Options of {@link createVolunteerLoop}. */
export interface VolunteerLoopOptions {
  api: VolunteerApi;
  pool: KernelPool;
  outbox: Outbox;
  /** Fetches and verifies published kernels' modules; without it such leases are handed back. */
  modules?: ModuleLoader;
  /**
   * Fetches dataset shards' bytes (`lease.inputUrl`) through `api` with the volunteer token.
   * Default: one retrying with `offlineBackoff`, as leasing does.
   */
  inputs?: InputLoader;
  /** Shards computed at once. Default 1. */
  threads?: number;
  /** Share of time each thread computes, in (0, 1]. Default 1 (no throttle). */
  dutyCycle?: number;
  /**
   * A shard running longer than this (ms) is a hang: its worker is terminated and the timeout
   * reported as the shard's kernel error. Published kernels are also capped by their lease TTL.
   * Default 120 000.
   */
  shardTimeoutMs?: number;
  /** Backoff while the coordinator is unreachable. Default 500 ms doubling to 15 s. */
  offlineBackoff?: BackoffOptions;
  /** Backoff while the coordinator has no work. Default 500 ms doubling to 10 s. */
  idleBackoff?: BackoffOptions;
  /** Most results per submit call (≤ 64). */
  submitBatch?: number;
  /** Wait (ms) for more results before a first submit after a quiet spell. Default 100. */
  submitDelayMs?: number;
  heartbeatTickMs?: number;
  /** A thread rests this long (ms) after a kernel error. Default 1000. */
  errorPauseMs?: number;
  onEvent?: (event: VolunteerEvent) => void;
  now?: () => number;
}

/** A running volunteer: start/pause/resume it, tune it, read its status. */
export interface VolunteerLoop {
  /** Starts (or resumes) leasing and computing. */
  start(): void;
  /** Stops leasing; releases queued leases; shards being computed finish and are submitted. */
  pause(): void;
  /** Same as start(). */
  resume(): void;
  /** Pauses, waits for running shards, tries one last submit (up to `graceMs`), then stops submitting too. */
  stop(graceMs?: number): Promise<void>;
  setThreads(n: number): void;
  setDutyCycle(d: number): void;
  status(): VolunteerStatus;
  /** Leases held but not computed: what a closing volunteer should release. */
  heldLeases(): Lease[];
}

/**
 * Creates the scheduling core shared by the volunteer page and `colmeia volunteer`: leases in
 * batches, dispatches to `pool` on `threads` slots, throttles each slot to `dutyCycle`, keeps
 * every computed result in `outbox` until the coordinator answers for it, heartbeats long
 * shards, and backs off with jitter when there is no work or no coordinator.
 * Environment-agnostic: no DOM, no storage, only `fetch` (through `api`) and timers.
 * Results already in `outbox` are submitted from creation on; leasing waits for `start()`.
 * @example
 * const loop = createVolunteerLoop({ api, pool, outbox: createMemoryOutbox(), threads: 2 });
 * loop.start();
 */
export function createVolunteerLoop(opts: VolunteerLoopOptions): VolunteerLoop {
  const { api, pool, outbox, now = Date.now } = opts;
  const emit = (event: VolunteerEvent) => opts.onEvent?.(event);
  const changed = () => emit({ type: "change" });
  let threads = Math.max(1, Math.floor(opts.threads ?? 1));
  let dutyCycle = clampDuty(opts.dutyCycle ?? 1);

  let state: VolunteerStatus["state"] = "stopped";
  let runCtl = new AbortController();
  let lifeCtl = new AbortController();
  let alive = false;
  let leaserAlive = false;
  const book = createLeaseBook(now);
  const slots = new Map<number, Promise<void>>();
  /** Every shard until it is accounted for (its thread may be on the next one while its result is stored). */
  const storing = new Set<Promise<number>>();
  const work = createNotifier();
  const leaseNeeded = createNotifier();
  let meanShardMs: number | undefined;
  const counters = { computed: 0, accepted: 0, rejected: 0, kernelErrors: 0, pending: 0 };
  let connection: Connection = "connecting";
  let waitingForWork = false;
  let retryAt: number | undefined;
  let lastError: string | undefined;

  const setConnection = (next: Connection, at?: number) => {
    retryAt = next === "online" ? undefined : at;
    if (connection !== next || next !== "online") (connection = next), changed();
  };
  const fail = (message: string) => {
    lastError = message;
    emit({ type: "error", message });
  };
  const release = (lease: Lease) => void api.release(lease.id).catch(() => {});
  const inputs = opts.inputs ?? createInputLoader({ api, backoff: { baseMs: 500, maxMs: 15_000, ...opts.offlineBackoff } });
  const settled = (n: number) => (counters.pending = Math.max(0, counters.pending - n));

  const sender = createResultSender({
    api,
    outbox,
    backoff: createBackoff({ baseMs: 500, maxMs: 15_000, ...opts.offlineBackoff }),
    batchSize: opts.submitBatch,
    delayMs: opts.submitDelayMs,
    now,
    hooks: {
      accepted(leaseIds) {
        counters.accepted += leaseIds.length;
        settled(leaseIds.length);
        emit({ type: "accepted", leaseIds });
        changed();
      },
      rejected(leaseId, status, message) {
        counters.rejected++;
        settled(1);
        emit({ type: "rejected", leaseId, status, message });
        changed();
      },
      online: () => setConnection("online"),
      offline: (error, at) => (setConnection("offline", at), (lastError = error.message)),
    },
  });

  let leaseRttMs: number | undefined;
  const prefetch = () => prefetchFor({ threads, meanShardMs, leaseRttMs, dutyCycle });

  function startLeaser(signal: AbortSignal) {
    leaserAlive = true;
    const deps = {
      api,
      now,
      needed: leaseNeeded,
      offline: createBackoff({ baseMs: 500, maxMs: 15_000, ...opts.offlineBackoff }),
      idle: createBackoff({ baseMs: 500, maxMs: 10_000, ...opts.idleBackoff }),
      // Ask when the queue is down to half the prefetch, for enough to fill every thread and the queue.
      want: () => (book.queued > Math.floor(prefetch() / 2) ? 0 : threads + prefetch() - book.queued - book.runningCount),
      accept(leases: Lease[]) {
        if (state !== "running") return (leases.forEach(release), 0);
        const refused = book.hold(leases);
        refused.forEach(release);
        work.notify();
        changed();
        return leases.length - refused.length;
      },
      report: {
        online(ms: number) {
          leaseRttMs = leaseRttMs === undefined ? ms : 0.7 * leaseRttMs + 0.3 * ms;
          setConnection("online");
        },
        offline: (_error: Error, at: number) => setConnection("offline", at),
        failed: fail,
        waiting(waiting: boolean, at?: number) {
          waitingForWork = waiting;
          retryAt = at;
          changed();
        },
      },
    };
    void runLeaser(deps, signal).finally(() => {
      leaserAlive = false;
      // Paused and resumed while this leaser was waiting on a call: the new run needs a leaser.
      if (state === "running" && !runCtl.signal.aborted) startLeaser(runCtl.signal);
    });
  }

  /** Counts a kernel error (reported as the shard's result, or the shard handed back). */
  function kernelError(lease: Lease, reason: KernelErrorReason, message: string, reported: boolean) {
    counters.kernelErrors++;
    lastError = `${lease.kernel} shard ${lease.shardId} failed (${reason}): ${message}`;
    emit({ type: "kernel-error", lease, reason, message, reported });
  }

  /**
   * Runs one shard; resolves with the compute time the throttle rests after as soon as its
   * thread may take the next shard: when the kernel has returned an output (the result is
   * stored meanwhile, the lease held until it is), else once the shard is fully accounted for.
   */
  function compute(held: HeldLease): Promise<number> {
    let free!: (ms: number) => void;
    const freed = new Promise<number>((resolve) => (free = resolve));
    const finished = finish(held, free);
    storing.add(finished);
    void finished.finally(() => storing.delete(finished));
    return Promise.race([freed, finished]);
  }

  /** Runs one shard to its end and accounts for it; returns the compute time the throttle rests after. */
  async function finish(held: HeldLease, computed: (ms: number) => void): Promise<number> {
    const { lease } = held;
    changed();
    const deps = { pool, outbox, modules: opts.modules, inputs, timeoutMs: opts.shardTimeoutMs, computed, now };
    const end = await runShard(held, deps).finally(() => {
      book.end(held);
      inputs.forget(lease.id);
      // One lease fewer held: the leaser may be waiting for exactly this (slow shards keep no queue).
      leaseNeeded.notify();
    });
    if (end.kind === "unrunnable") {
      // Not this shard's fault, but this volunteer's: hand it back, and refuse it if offered again.
      book.markFailed(lease);
      release(lease);
      kernelError(lease, end.reason, end.error, false);
    }
    if (end.kind === "store-failed") fail(`could not store a result: ${end.error}`), release(lease);
    // Its input said the lease is gone (403/404/410): like a heartbeat's 410, no result to send.
    if (end.kind === "lost" && end.status !== undefined) emit({ type: "lease-lost", leaseId: lease.id, status: end.status });
    if (end.kind === "no-input") fail(`${lease.kernel} shard ${lease.shardId}: ${end.error}`), release(lease);
    if (end.kind === "stored") {
      counters.pending++;
      if (end.failure) kernelError(lease, end.failure.reason, end.failure.error, true);
      else {
        meanShardMs = meanShardMs === undefined ? end.ms : 0.8 * meanShardMs + 0.2 * end.ms;
        counters.computed++;
        emit({ type: "computed", lease, ms: end.ms });
      }
      sender.notify();
    }
    changed();
    if (end.kind === "unrunnable" || end.kind === "no-input" || (end.kind === "stored" && end.failure)) {
      await sleep(opts.errorPauseMs ?? 1000, runCtl.signal);
      return 0;
    }
    return end.ms;
  }

  async function slot(index: number) {
    while (state === "running" && index < threads) {
      const held = book.begin();
      if (!held) {
        await work.wait(runCtl.signal);
        continue;
      }
      leaseNeeded.notify();
      const ms = await compute(held);
      // Duty cycle d: after computing for t ms, rest t(1-d)/d ms so this thread is busy a share d.
      if (dutyCycle < 1 && ms > 0) await sleep((ms * (1 - dutyCycle)) / dutyCycle, runCtl.signal);
    }
  }

  function spawnSlots() {
    for (let i = 0; i < threads; i++) {
      if (!slots.has(i))
        slots.set(
          i,
          slot(i).finally(() => slots.delete(i)),
        );
    }
  }

  // Submitting and heartbeats live from creation to stop(), whether or not we lease: results
  // left in the outbox by an earlier run go out even before the volunteer presses start.
  function live() {
    if (alive) return;
    alive = true;
    lifeCtl = new AbortController();
    void outbox.count().then((n) => ((counters.pending = n), changed()));
    void sender.run(lifeCtl.signal);
    const lost = (held: HeldLease, status: number) => {
      book.lose(held);
      emit({ type: "lease-lost", leaseId: held.lease.id, status });
      leaseNeeded.notify();
      changed();
    };
    void runHeartbeats({ api, held: book.all, tickMs: opts.heartbeatTickMs, now, lost }, lifeCtl.signal);
  }

  function start() {
    live();
    sender.notify();
    if (state === "running") return;
    state = "running";
    runCtl = new AbortController();
    if (!leaserAlive) startLeaser(runCtl.signal);
    else leaseNeeded.notify();
    // Workers load while the first lease call is on its way, not after it.
    pool.warm();
    spawnSlots();
    changed();
  }

  function pause() {
    if (state !== "running") return;
    state = "paused";
    runCtl.abort();
    waitingForWork = false;
    book.takeQueued().forEach(release);
    changed();
  }

  queueMicrotask(live);
  return {
    start,
    resume: start,
    pause,
    async stop(graceMs = 2000) {
      pause();
      await Promise.allSettled([...slots.values(), ...storing]);
      if (counters.pending > 0) await Promise.race([sender.drained(), sleep(graceMs)]);
      state = "stopped";
      alive = false;
      lifeCtl.abort();
      changed();
    },
    setThreads(n) {
      threads = Math.max(1, Math.floor(n));
      pool.resize(threads);
      if (state === "running") pool.warm(), spawnSlots();
      work.notify();
      leaseNeeded.notify();
      changed();
    },
    setDutyCycle(d) {
      dutyCycle = clampDuty(d);
      changed();
    },
    status: () => ({
      state,
      connection,
      waitingForWork,
      retryAt,
      threads,
      dutyCycle,
      running: book.running(),
      queued: book.queued,
      ...counters,
      lastError,
    }),
    heldLeases: () =>
      book
        .all()
        .filter((h) => !h.lost)
        .map((h) => h.lease),
  };
}

function clampDuty(d: number): number {
  return Number.isFinite(d) ? Math.min(1, Math.max(0.05, d)) : 1;
}

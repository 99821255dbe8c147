import type { ColmeiaError } from "../api/errors.ts";
import { callError, type VolunteerApi } from "./api.ts";
import type { Backoff } from "./backoff.ts";
import type { Outbox } from "./outbox.ts";
import { createNotifier } from "./notifier.ts";
import { sleep } from "./sleep.ts";
import type { BatchResultEntry, PendingResult, WireResult } from "./types.ts";

/** A stored result as `POST /v1/results` takes it: `{leaseId, output}`, or `{leaseId, error}` for a kernel error. */
export function wireResult({ leaseId, output, error }: PendingResult): WireResult {
  return error ? { leaseId, error } : { leaseId, output };
}

/** What the result sender tells its owner. */
export interface ResultSenderHooks {
  /** The coordinator took these (202, or 409: an earlier send went through but its answer was lost). */
  accepted(leaseIds: string[]): void;
  /** The coordinator refused this result for good (410 expired, 400 bad output, ...). */
  rejected(leaseId: string, status: number, message: string): void;
  online(): void;
  offline(error: ColmeiaError, retryAt: number): void;
}

/** Options of {@link createResultSender}. */
export interface ResultSenderOptions {
  api: Pick<VolunteerApi, "submit">;
  outbox: Outbox;
  backoff: Backoff;
  hooks: ResultSenderHooks;
  /** Most results per `POST /v1/results` (the contract allows 64). */
  batchSize?: number;
  /** After being idle, wait this long (ms) for more results to share the first request. Default 100. */
  delayMs?: number;
  now?: () => number;
}

/** Sends the outbox in batches until stopped; see {@link createResultSender}. */
export interface ResultSender {
  /** Starts the send loop; it ends when `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  /** Something was added to the outbox. */
  notify(): void;
  /** Resolves the next time the outbox is found empty. */
  drained(): Promise<void>;
}

/**
 * Creates the batched result sender. Results leave the outbox only once the coordinator has
 * answered for them; an unreachable coordinator means backoff and retry, never loss.
 */
export function createResultSender(opts: ResultSenderOptions): ResultSender {
  const { api, outbox, backoff, hooks, now = Date.now } = opts;
  const maxBatch = Math.min(64, Math.max(1, opts.batchSize ?? 64));
  const delayMs = opts.delayMs ?? 100;
  const wake = createNotifier();
  let drainWaiters: Array<() => void> = [];
  // After a whole batch is refused, send its members one by one to find the bad one.
  let singles = 0;

  async function settle(sent: string[], entries: BatchResultEntry[]) {
    const byId = new Map(entries.map((e) => [e.leaseId, e]));
    const accepted: string[] = [];
    const done: string[] = [];
    for (const leaseId of sent) {
      const entry = byId.get(leaseId);
      if (!entry) continue; // not answered: stays in the outbox for the next round
      done.push(leaseId);
      if (entry.status === 202 || entry.status === 409) accepted.push(leaseId);
      else hooks.rejected(leaseId, entry.status, entry.error?.message ?? `status ${entry.status}`);
    }
    await outbox.remove(done);
    if (accepted.length) hooks.accepted(accepted);
  }

  async function run(signal: AbortSignal) {
    let fresh = true;
    while (!signal.aborted) {
      const batch = await outbox.peek(singles > 0 ? 1 : maxBatch);
      if (!batch.length) {
        const waiters = drainWaiters;
        drainWaiters = [];
        waiters.forEach((w) => w());
        fresh = true;
        await wake.wait(signal);
        continue;
      }
      if (fresh && batch.length < maxBatch && delayMs > 0) {
        fresh = false;
        await sleep(delayMs, signal);
        continue;
      }
      fresh = false;
      const ids = batch.map((r) => r.leaseId);
      let entries: BatchResultEntry[];
      try {
        entries = await api.submit(batch.map(wireResult));
      } catch (err) {
        const error = callError(err);
        if (error.retryable) {
          const delay = error.retryAfterMs ?? backoff.next();
          hooks.offline(error, now() + delay);
          await sleep(delay, signal);
        } else if (batch.length > 1) {
          singles = batch.length;
        } else {
          await outbox.remove(ids);
          hooks.rejected(ids[0]!, error.status, error.message);
          singles = Math.max(0, singles - 1);
        }
        continue;
      }
      if (singles > 0) singles--;
      backoff.reset();
      hooks.online();
      await settle(ids, entries);
    }
  }

  return {
    run,
    notify: () => wake.notify(),
    drained: () => new Promise((resolve) => drainWaiters.push(resolve)),
  };
}

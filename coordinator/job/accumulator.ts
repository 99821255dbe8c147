import type { JobKernel } from "./kernel.ts";
import type { JobStore } from "./store.ts";
import { readBlob, writeBlob } from "./tables.ts";

/** Checkpoint at least this often (in accepted shards) once the result has grown large. */
const CHECKPOINT_EVERY = 64;
/** Below this size (JSON characters) every accept checkpoints: it costs nothing. */
const SMALL = 16 * 1024;

/**
 * The job's merged result, folded incrementally with the kernel's reduce as shards are accepted.
 * Durable as a checkpoint plus replay: after a restart the checkpoint is read and every shard
 * accepted since is folded in again, so nothing is lost and a large result is not rewritten per shard.
 */
export class Accumulator {
  #value: unknown;
  #lastSize = 0;

  constructor(
    private readonly store: JobStore,
    private readonly kernel: JobKernel,
  ) {}

  /** The current merged value (loading checkpoint and replaying on first use). */
  get value(): unknown {
    if (this.#value === undefined) this.#value = this.#load();
    return this.#value;
  }

  /** The merged result as served. */
  get result(): unknown {
    return this.kernel.final(this.value);
  }

  /** Folds shard `idx`'s accepted output in; `seq` is its accept sequence number. Throws on a shape conflict. */
  add(output: unknown, idx: number, seq: number, final: boolean): void {
    const meta = this.store.meta!;
    // A shard marked accepted with `seq` must not be replayed by a first load as well.
    this.#value ??= this.#load(seq);
    this.#value = this.kernel.reduce(this.#value, output, idx);
    if (final || this.#lastSize < SMALL || seq - meta.accSeq >= CHECKPOINT_EVERY) this.checkpoint(seq);
  }

  /** Persists the merged value as of accept sequence `seq`. */
  checkpoint(seq: number): void {
    const text = JSON.stringify(this.value);
    this.#lastSize = text.length;
    writeBlob(this.store.sql, "acc", text);
    this.store.saveMeta({ ...this.store.meta!, accSeq: seq });
  }

  /** Drops the in-memory value (a failed merge may have left it half-changed): it reloads from storage. */
  forget(): void {
    this.#value = undefined;
  }

  /** Drops the cached value and checkpoint and refolds every accepted shard (after backtracking). */
  rebuild(): void {
    this.store.sql.exec("DELETE FROM blobs WHERE name = 'acc'");
    this.store.saveMeta({ ...this.store.meta!, accSeq: 0 });
    this.#value = this.#load();
    this.checkpoint(this.store.meta!.seq);
  }

  /** Checkpoint plus every shard accepted after it and before `before`. */
  #load(before = Number.MAX_SAFE_INTEGER): unknown {
    const meta = this.store.meta!;
    const saved = readBlob(this.store.sql, "acc");
    let value = saved === undefined ? this.kernel.identity() : JSON.parse(saved);
    this.#lastSize = saved?.length ?? 0;
    const replay = this.store.sql.exec<{ idx: number; output: string }>(
      `SELECT s.idx AS idx, r.output AS output, MIN(r.at) FROM shards s JOIN replicas r ON r.idx = s.idx AND r.hash = s.accepted_hash AND r.output IS NOT NULL
       WHERE s.accept_seq > ? AND s.accept_seq < ? AND s.state = 1 GROUP BY s.idx ORDER BY s.accept_seq`,
      saved === undefined ? 0 : meta.accSeq,
      before,
    );
    for (const row of replay) value = this.kernel.reduce(value, JSON.parse(row.output), row.idx);
    return value;
  }
}

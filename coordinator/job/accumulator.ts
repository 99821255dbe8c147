import { LIMITS } from "../../shared/limits.ts";
import { MergeConflict } from "../../shared/reduce.ts";
import type { JobKernel } from "./kernel.ts";
import type { JobStore } from "./store.ts";

/**
 * Accepted shards refolded per step of a rebuild: a step parses and merges this many outputs,
 * milliseconds for small outputs, so no alarm or request runs long however large the job.
 */
export const REBUILD_STEP = 2000;

/**
 * Checkpoint once per this many accepted shards (and with the last one): a restart replays at most
 * this many outputs, and a result commit does not rewrite the blob's pages per shard.
 */
const CHECKPOINT_EVERY = 64;

/** Characters of outputs folded in between two measures of the merged result near its bound (it may pass the bound by this much). */
const MEASURE_STEP = 1024 * 1024;

/**
 * The job's merged result, folded incrementally with the kernel's reduce as shards are accepted.
 * Durable as a checkpoint plus replay: after a restart the checkpoint is read and every shard
 * accepted since is folded in again, so nothing is lost and a large result is not rewritten per shard.
 */
export class Accumulator {
  #value: unknown;
  /** Characters of the merged value when last serialised, and of the outputs folded in since: a bound on its size now. */
  #measured = 0;
  #grown = 0;
  /** Set once the merged result passed LIMITS.resultChars (its size then): the job fails, saying so. */
  oversize: number | undefined;

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

  /**
   * Folds shard `idx`'s accepted output (its JSON text) in; `seq` is its accept sequence number. Throws on a shape
   * conflict. Answers the meta's `accSeq` from now on: `seq` when the merged value was checkpointed,
   * which the caller saves in the same synchronous step as the shard's acceptance (one meta write
   * per accepted shard, not two; one per batch of results, see JobStore.batch).
   */
  add(output: string, idx: number, seq: number, final: boolean): number {
    const meta = this.store.meta!;
    // Mid-rebuild the steps fold every accepted shard in accept order, this one included.
    if (meta.rebuilding) return meta.accSeq;
    // A shard marked accepted with `seq` must not be replayed by a first load as well.
    this.#value ??= this.#load(seq);
    this.#value = fold(this.kernel, this.#value, JSON.parse(output), idx);
    this.#grown += output.length;
    const checkpoint = final || seq - meta.accSeq >= CHECKPOINT_EVERY;
    // Measured at each checkpoint, and between them once the outputs folded in since the last
    // measure could have carried it past the bound (a merge never grows by more than the output it
    // takes in); never more often than once per MEASURE_STEP of outputs, so a result that stays
    // just under the bound is not serialised on every shard.
    if (!checkpoint && this.#grown <= Math.max(LIMITS.resultChars - this.#measured, MEASURE_STEP)) return meta.accSeq;
    const text = this.#measure(JSON.stringify(this.#value));
    if (!checkpoint) return meta.accSeq;
    this.store.saveBlob("acc", text);
    return seq;
  }

  /** Notes the serialised merged value's size (and whether it passed the bound); returns it. */
  #measure(text: string): string {
    this.#measured = text.length;
    this.#grown = 0;
    if (text.length > LIMITS.resultChars) this.oversize = text.length;
    return text;
  }

  /** Drops the in-memory value (a failed merge may have left it half-changed): it reloads from storage. */
  forget(): void {
    this.#value = undefined;
  }

  /**
   * Starts refolding every accepted shard from scratch (after backtracking): the checkpoint is
   * dropped and {@link step} folds the accepted outputs in accept order, a bounded batch at a time.
   */
  rebuild(): void {
    this.store.deleteBlob("acc");
    this.store.saveMeta({ ...this.store.meta!, accSeq: 0, rebuilding: true });
    this.#value = undefined;
  }

  /**
   * One step of a rebuild: folds up to `limit` more accepted shards into the checkpoint. Answers
   * whether the rebuild is finished, and the shards whose output no longer merges (to fail).
   */
  step(limit = REBUILD_STEP): { finished: boolean; conflicts: { idx: number; message: string }[] } {
    const meta = this.store.meta!;
    if (!meta.rebuilding) return { finished: true, conflicts: [] };
    const saved = this.store.blob("acc");
    let value = saved === undefined ? this.kernel.identity() : JSON.parse(saved);
    const rows = [...this.store.shards.acceptedOutputs(meta.accSeq, { limit })];
    const conflicts: { idx: number; message: string }[] = [];
    for (const row of rows) {
      try {
        value = fold(this.kernel, value, JSON.parse(row.output), row.idx);
      } catch (err) {
        if (!(err instanceof MergeConflict)) throw err;
        conflicts.push({ idx: row.idx, message: err.message });
      }
    }
    const finished = rows.length < limit;
    this.store.saveBlob("acc", this.#measure(JSON.stringify(value)));
    const { rebuilding: _, ...rest } = this.store.meta!;
    this.store.saveMeta({ ...rest, accSeq: rows.at(-1)?.seq ?? meta.accSeq, ...(!finished && { rebuilding: true }) });
    if (finished) this.#value = value;
    return { finished, conflicts };
  }

  /** Checkpoint plus every shard accepted after it and before `before`. */
  #load(before?: number): unknown {
    const meta = this.store.meta!;
    const saved = this.store.blob("acc");
    let value = saved === undefined ? this.kernel.identity() : JSON.parse(saved);
    this.#measured = saved?.length ?? 0;
    this.#grown = 0;
    const replay = this.store.shards.acceptedOutputs(saved === undefined ? 0 : meta.accSeq, { before });
    for (const row of replay) {
      value = this.kernel.reduce(value, JSON.parse(row.output), row.idx);
      this.#grown += row.output.length;
    }
    return value;
  }
}

/**
 * The kernel's reduce of one output, where any failure of the merge is a MergeConflict: the shard
 * fails alone, saying why, and the job goes on (a throw out of a job's step would reset its object).
 */
function fold(kernel: JobKernel, acc: unknown, output: unknown, idx: number): unknown {
  try {
    return kernel.reduce(acc, output, idx);
  } catch (err) {
    if (err instanceof MergeConflict) throw err;
    throw new MergeConflict(`its output could not be merged (${err instanceof Error ? err.message : String(err)})`);
  }
}

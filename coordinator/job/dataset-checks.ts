import type { Standing } from "../objects/volunteer-object.ts";
import { shardText, type StoredDataset } from "../datasets/lines.ts";
import type { JobKernel } from "./kernel.ts";
import { trustedFor } from "./leasing.ts";
import { datasetInput } from "./meta.ts";
import type { WaitingOutput } from "./shard-table.ts";
import type { JobStore } from "./store.ts";
import { REPLICA } from "./tables.ts";
import { AUDIT_RATE, ERROR_HASH, VERIFY_FIRST } from "./verify.ts";

/** Most dataset bytes read to check one result batch (the rest are verified by replicas). */
const CHECK_READ_BYTES = 16 * 1024 * 1024;
/** How soon the alarm confirms dataset shards a batch could not read. */
const CONFIRM_DELAY_MS = 100;
/** Most waiting outputs one alarm looks at. */
const WAITING_BATCH = 64;

/**
 * The coordinator checking dataset shards itself: their bytes live in R2, so they are read before
 * the atomic step that judges an output, within a byte budget per call. Shards past the budget
 * are remembered (`confirmAt`) and read from the alarm instead.
 */
export class DatasetChecks {
  /** When dataset shards left unchecked by a batch's read budget are to be confirmed (undefined: none known). */
  confirmAt: number | undefined;

  constructor(
    private readonly store: () => JobStore,
    private readonly blobs: R2Bucket,
  ) {}

  /** The job's dataset as shard reading needs it, with the quoted newlines from `from` on (a CSV job's). */
  dataset(from: number): StoredDataset {
    const ds = this.store().meta!.dataset!;
    const quoted = ds.csv ? this.store().quotedFrom(from - 1, 4096) : undefined;
    return { key: ds.key, bytes: ds.bytes, ...(quoted && { quoted }) };
  }

  /**
   * The bytes of the dataset shards among `items` the coordinator may want to check: those of
   * volunteers it does not trust yet, or of shards that have outputs already, kernel failures
   * included (a failure is refused when the kernel runs on those bytes here). Bounded per call,
   * each shard read once however often the batch names it; a shard not read here is verified by
   * more replicas instead. An undefined item (an output refused already) is not looked at.
   */
  async forBatch(
    kernel: JobKernel,
    volunteer: string,
    items: readonly ({ leaseId: string; error?: unknown } | undefined)[],
    standing: Standing,
    rolls: readonly number[],
  ): Promise<Map<number, string> | undefined> {
    const store = this.store();
    const meta = store.meta!;
    if (!meta.dataset) return undefined;
    const wanted = new Set<number>();
    let bytes = 0;
    for (const [n, item] of items.entries()) {
      if (!item) continue;
      const row = store.replicas.get(item.leaseId);
      if (!row || row.volunteer !== volunteer || row.state !== REPLICA.leased || wanted.has(row.idx)) continue;
      const input = datasetInput(meta.dataset, row.idx);
      if (!kernel.checkable(input)) continue;
      // A trusted volunteer's output is checked only when audited (or early in the job, to stock ringers).
      const audited = rolls[n]! < AUDIT_RATE || meta.seq < VERIFY_FIRST;
      if (trustedFor(kernel, input, standing) && !audited && store.replicas.groups(row.idx).length === 0) continue;
      if (bytes + input.length > CHECK_READ_BYTES) {
        // Past this batch's read budget: the alarm reads it and confirms it shortly.
        this.confirmAt = Date.now() + CONFIRM_DELAY_MS;
        continue;
      }
      wanted.add(row.idx);
      bytes += input.length;
    }
    return this.read([...wanted]);
  }

  /**
   * Dataset shards whose lone output waits for a confirmation the coordinator can give itself
   * (their bytes were past a batch's read budget), with their bytes read, once `confirmAt` is
   * due. Bounded per call: what is left sets `confirmAt` again.
   */
  async waiting(kernelOf: () => JobKernel, now: number): Promise<{ outputs: WaitingOutput[]; texts: Map<number, string> } | undefined> {
    const store = this.store();
    const meta = store.meta;
    if (this.confirmAt === undefined || this.confirmAt > now || !meta?.dataset || meta.state !== "running") return undefined;
    this.confirmAt = undefined;
    const kernel = kernelOf(); // built only when there is something to check
    const outputs: WaitingOutput[] = [];
    let bytes = 0;
    for (const w of store.shards.waitingAlone(ERROR_HASH, WAITING_BATCH)) {
      const input = datasetInput(meta.dataset, w.idx);
      if (!kernel.checkable(input)) continue;
      if (bytes + input.length > CHECK_READ_BYTES) {
        this.confirmAt = now; // more next alarm
        break;
      }
      outputs.push(w);
      bytes += input.length;
    }
    if (!outputs.length) return undefined;
    return { outputs, texts: await this.read(outputs.map((w) => w.idx)) };
  }

  /** The bytes (as text) of dataset shards `idxs`, read before an atomic step; a shard that fails to read is left out. */
  async read(idxs: number[]): Promise<Map<number, string>> {
    const ds = this.store().meta!.dataset!;
    const texts = await Promise.all(
      idxs.map((idx) => {
        const { offset, length } = datasetInput(ds, idx);
        return shardText(this.blobs, this.dataset(offset), offset, length).catch(() => undefined);
      }),
    );
    return new Map(idxs.flatMap((idx, i) => (texts[i] === undefined ? [] : [[idx, texts[i]!] as const])));
  }
}

/**
 * Calls many other objects from one object without flooding them or its own storage: `send` runs
 * on `size` items at a time (a wave settles before the next starts, so only a wave's calls queue
 * on the receiving side), and each wave's outcomes go to `settled` in one synchronous call, so
 * the caller's writes for a whole wave (deleting what was acknowledged) are one storage commit,
 * where a write after each call was a commit, and a disk sync, of its own.
 *
 * @example
 * await inWaves(rows, 8, (r) => record(r).credited(r.total), (wave, out) => wave.forEach((r, i) => out[i]!.status === "fulfilled" && done(r)));
 */
export async function inWaves<T>(
  items: readonly T[],
  size: number,
  send: (item: T) => Promise<unknown>,
  settled: (wave: T[], outcomes: PromiseSettledResult<unknown>[]) => void,
): Promise<void> {
  for (let at = 0; at < items.length; at += size) {
    const wave = items.slice(at, at + size);
    // A send that throws at once counts as a failed call, like one that rejects.
    settled(wave, await Promise.allSettled(wave.map(async (item) => send(item))));
  }
}

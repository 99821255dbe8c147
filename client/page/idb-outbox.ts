import type { Outbox } from "../volunteer/outbox.ts";
import type { PendingResult } from "../volunteer/types.ts";
import type { OwnedResult, VolunteerDatabase } from "./store.ts";

const LOCK_PREFIX = "colmeia-tab-";

/**
 * The page's Outbox in IndexedDB. Tabs of one browser share the database, so each result is
 * owned by the tab that computed it (a Web Lock held for the tab's life says it is alive);
 * results of closed tabs are adopted on load and every 30 s, so they are sent exactly by one tab.
 * `mirror` is an in-memory copy of this tab's pending results for the page-close flush.
 */
export async function createIdbOutbox(db: VolunteerDatabase) {
  const tab = crypto.randomUUID();
  const locks = globalThis.navigator?.locks;
  if (locks) void locks.request(LOCK_PREFIX + tab, () => new Promise<void>(() => {}));
  const mirror = new Map<string, PendingResult>();

  async function adoptOrphans() {
    const alive = new Set<string>();
    if (locks) {
      const held = (await locks.query()).held ?? [];
      for (const lock of held) if (lock.name?.startsWith(LOCK_PREFIX)) alive.add(lock.name.slice(LOCK_PREFIX.length));
    }
    const tx = db.transaction("outbox", "readwrite");
    for (let cursor = await tx.store.openCursor(); cursor; cursor = await cursor.continue()) {
      const { owner, ...result } = cursor.value;
      if (owner === tab || (locks && alive.has(owner))) continue;
      await cursor.update({ ...result, owner: tab });
      mirror.set(result.leaseId, result);
    }
    await tx.done;
  }

  await adoptOrphans();
  const timer = setInterval(() => void adoptOrphans().catch(() => {}), 30_000);

  const outbox: Outbox = {
    async add(result) {
      await db.put("outbox", { ...result, owner: tab } satisfies OwnedResult);
      mirror.set(result.leaseId, result);
    },
    async peek(limit) {
      const found: PendingResult[] = [];
      const tx = db.transaction("outbox");
      for (let cursor = await tx.store.index("byTime").openCursor(); cursor && found.length < limit; cursor = await cursor.continue()) {
        const { owner, ...result } = cursor.value;
        if (owner === tab) found.push(result);
      }
      return found;
    },
    async remove(leaseIds) {
      const tx = db.transaction("outbox", "readwrite");
      await Promise.all([...leaseIds.map((id) => tx.store.delete(id)), tx.done]);
      for (const id of leaseIds) mirror.delete(id);
    },
    count: async () => mirror.size,
  };
  return { outbox, mirror, close: () => clearInterval(timer) };
}

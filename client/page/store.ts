import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { IdentityStore } from "../volunteer/api.ts";
import type { Identity, PendingResult } from "../volunteer/types.ts";

/** Counters kept across visits. */
export interface StoredStats {
  /** Shards computed in this browser, all time. */
  computed: number;
  /** Results the coordinator accepted from this browser, all time (local credit). */
  accepted: number;
}

/** The volunteer's choices, remembered across visits. */
export interface StoredSettings {
  threads?: number;
  /** Duty cycle in (0, 1]. */
  dutyCycle?: number;
  onlyVisible?: boolean;
}

/** A pending result with the tab that owns it (see idb-outbox.ts). */
export interface OwnedResult extends PendingResult {
  owner: string;
}

interface VolunteerDb extends DBSchema {
  kv: { key: string; value: unknown };
  outbox: { key: string; value: OwnedResult; indexes: { byTime: number } };
}

/** The page's IndexedDB: identity, settings, stats and the outbox of unsent results. */
export type VolunteerDatabase = IDBPDatabase<VolunteerDb>;

/** Opens (creating on first visit) the page's database. */
export function openVolunteerDb(name = "colmeia-volunteer"): Promise<VolunteerDatabase> {
  return openDB<VolunteerDb>(name, 1, {
    upgrade(db) {
      db.createObjectStore("kv");
      db.createObjectStore("outbox", { keyPath: "leaseId" }).createIndex("byTime", "computedAt");
    },
  });
}

/** Identity kept in IndexedDB: the browser registers once and stays the same volunteer. */
export function idbIdentity(db: VolunteerDatabase | undefined): IdentityStore {
  let memory: Identity | undefined;
  return {
    load: async () => ((await db?.get("kv", "identity")) as Identity | undefined) ?? memory,
    async save(identity) {
      memory = identity;
      await db?.put("kv", identity, "identity");
    },
  };
}

export async function loadSettings(db: VolunteerDatabase | undefined): Promise<StoredSettings> {
  return ((await db?.get("kv", "settings")) as StoredSettings | undefined) ?? {};
}

export async function saveSettings(db: VolunteerDatabase | undefined, settings: StoredSettings): Promise<void> {
  await db?.put("kv", settings, "settings");
}

/**
 * All-time counters: `bump` adds in memory at once and writes at most every `everyMs`
 * (read-modify-write in one transaction, so tabs sharing the database do not lose counts).
 */
export function createStatsStore(db: VolunteerDatabase | undefined, everyMs = 500) {
  const unsaved: StoredStats = { computed: 0, accepted: 0 };
  let base: StoredStats = { computed: 0, accepted: 0 };
  // biome-ignore lint/correctness/noUnusedVariables: read by `??=` (one flush scheduled at a time)
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = async () => {
    timer = undefined;
    if (!db || (!unsaved.computed && !unsaved.accepted)) return;
    const delta = { ...unsaved };
    unsaved.computed = unsaved.accepted = 0;
    const tx = db.transaction("kv", "readwrite");
    const stored = ((await tx.store.get("stats")) as StoredStats | undefined) ?? { computed: 0, accepted: 0 };
    const next = { computed: stored.computed + delta.computed, accepted: stored.accepted + delta.accepted };
    await Promise.all([tx.store.put(next, "stats"), tx.done]);
    base = next;
  };
  return {
    async load() {
      base = ((await db?.get("kv", "stats")) as StoredStats | undefined) ?? base;
    },
    bump(delta: Partial<StoredStats>) {
      unsaved.computed += delta.computed ?? 0;
      unsaved.accepted += delta.accepted ?? 0;
      timer ??= setTimeout(() => void flush().catch(() => {}), everyMs);
    },
    /** Current all-time totals, unsaved increments included. */
    get(): StoredStats {
      return { computed: base.computed + unsaved.computed, accepted: base.accepted + unsaved.accepted };
    },
    flush,
  };
}

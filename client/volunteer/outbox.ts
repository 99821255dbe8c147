import type { PendingResult } from "./types.ts";

/**
 * Durable store of results computed but not yet accepted by the coordinator. The loop adds a
 * result before it counts as done and removes it only once the coordinator answered for it,
 * so a dropped network or a closed tab loses nothing (the page backs this with IndexedDB).
 */
export interface Outbox {
  add(result: PendingResult): Promise<void>;
  /** Up to `limit` results, oldest first, without removing them. */
  peek(limit: number): Promise<PendingResult[]>;
  remove(leaseIds: string[]): Promise<void>;
  count(): Promise<number>;
}

/** An in-memory Outbox: for tests and volunteers that accept losing results on exit. */
export function createMemoryOutbox(initial: PendingResult[] = []): Outbox {
  const items = new Map(initial.map((r) => [r.leaseId, r]));
  return {
    add: async (result) => void items.set(result.leaseId, result),
    peek: async (limit) => [...items.values()].slice(0, limit),
    remove: async (leaseIds) => leaseIds.forEach((id) => items.delete(id)),
    count: async () => items.size,
  };
}

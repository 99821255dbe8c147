import { describe, expect, it } from "vitest";
import { memoryIdentity, type VolunteerApi } from "./api.ts";
import { createSessionApi } from "./session-api.ts";
import type { Lease } from "./types.ts";

/** A coordinator's session stand-in: greets, finds no work for a lease, and pushes `work` when told; what was sent is in `sent`. */
function fakeGrid() {
  const sent: { type: string; leaseId?: string }[] = [];
  let open: { emit(data: unknown): void } | undefined;
  const Socket = class {
    #listeners = new Map<string, Array<(e: unknown) => void>>();
    constructor() {
      open = { emit: (data) => this.#emit("message", { data: JSON.stringify(data) }) };
      setTimeout(() => open?.emit({ type: "ready", volunteer: "v_1" }));
    }
    addEventListener(type: string, fn: (e: unknown) => void) {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), fn]);
    }
    send(text: string) {
      const m = JSON.parse(text) as { type: string; id: number; leaseId?: string };
      sent.push({ type: m.type, ...(m.leaseId && { leaseId: m.leaseId }) });
      const body = m.type === "lease" ? { leases: [] } : { expiresAt: Date.now() + 60_000 };
      setTimeout(() => open?.emit({ type: "reply", id: m.id, status: 200, body }));
    }
    close() {}
    #emit(type: string, event: unknown) {
      for (const fn of this.#listeners.get(type) ?? []) fn(event);
    }
  } as unknown as typeof WebSocket;
  const push = (leases: Lease[]) => open?.emit({ type: "work", leases });
  return { sent, Socket, push };
}

const lease = (id: string): Lease => ({ id, jobId: "j_1", shardId: "0", kernel: "primes.count", input: {}, expiresAt: Date.now() + 60_000 }) as Lease;

describe("createSessionApi", () => {
  it("answers pushed work at once (a heartbeat of its first lease), so the coordinator knows the session has it", async () => {
    const grid = fakeGrid();
    const http = { identity: async () => ({ id: "v_1", token: "t" }), close() {} } as unknown as VolunteerApi;
    const api = createSessionApi({ baseUrl: "http://grid.test", identity: memoryIdentity(), http, WebSocket: grid.Socket, pingMs: 60_000 });
    expect(await api.lease(4)).toEqual([]);
    const waiting = api.work!(new AbortController().signal);
    grid.push([lease("l_a"), lease("l_b")]);
    expect((await waiting)?.map((l) => l.id)).toEqual(["l_a", "l_b"]);
    await new Promise((r) => setTimeout(r, 10));
    expect(grid.sent).toEqual([{ type: "lease" }, { type: "heartbeat", leaseId: "l_a" }]);
    api.close?.();
  });
});

import { describe, expect, it } from "vitest";
import { lockDown } from "./lockdown.ts";

describe("lockDown", () => {
  it("removes network, storage and messaging capabilities from a scope and keeps the rest", () => {
    const scope: Record<string, unknown> = {
      fetch: () => 1,
      WebSocket: class {},
      indexedDB: {},
      postMessage: () => 2,
      webkitRequestFileSystemSync: () => 3,
      Math,
    };
    const removed = lockDown(scope);
    expect(removed.sort()).toEqual(["WebSocket", "fetch", "indexedDB", "postMessage", "webkitRequestFileSystemSync"]);
    expect(scope.fetch).toBeUndefined();
    expect(() => ((scope as { fetch: unknown }).fetch = () => 3)).toThrow();
    expect(scope.Math).toBe(Math);
  });

  it("removes navigator members from the prototypes too, so their getters cannot be called back", () => {
    class WorkerNavigatorLike {
      get storage() {
        return "opfs";
      }
      get hardwareConcurrency() {
        return 4;
      }
    }
    const navigator = new WorkerNavigatorLike();
    const scope: Record<string, unknown> = { navigator };
    expect(lockDown(scope)).toEqual(["navigator.storage"]);
    expect(navigator.storage).toBeUndefined();
    const descriptor = Object.getOwnPropertyDescriptor(WorkerNavigatorLike.prototype, "storage");
    expect(descriptor?.get).toBeUndefined();
    expect(navigator.hardwareConcurrency).toBe(4);
  });
});

import { describe, expect, it } from "vitest";
import { lockDown } from "./lockdown.ts";

describe("lockDown", () => {
  it("removes network and storage capabilities from a scope and keeps the rest", () => {
    const scope: Record<string, unknown> = { fetch: () => 1, WebSocket: class {}, indexedDB: {}, postMessage: () => 2, Math };
    const removed = lockDown(scope);
    expect(removed.sort()).toEqual(["WebSocket", "fetch", "indexedDB"]);
    expect(scope.fetch).toBeUndefined();
    expect(() => ((scope as { fetch: unknown }).fetch = () => 3)).toThrow();
    expect(scope.postMessage).toBeTypeOf("function");
    expect(scope.Math).toBe(Math);
  });
});

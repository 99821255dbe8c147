import { describe, expect, it } from "vitest";
import { openSessionSocket } from "./session-socket.ts";

/** A WebSocket stand-in that greets with `ready` and answers nothing: what was sent is in `sent`. */
function fakeSocketClass(sent: string[]) {
  return class {
    #listeners = new Map<string, Array<(e: unknown) => void>>();
    constructor() {
      setTimeout(() => this.#emit("message", { data: JSON.stringify({ type: "ready", volunteer: "v_1" }) }));
    }
    addEventListener(type: string, fn: (e: unknown) => void) {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), fn]);
    }
    send(data: string) {
      sent.push(data);
    }
    close() {}
    #emit(type: string, event: unknown) {
      for (const fn of this.#listeners.get(type) ?? []) fn(event);
    }
  } as unknown as typeof WebSocket;
}

describe("session socket", () => {
  it("holds requests past the coordinator's burst back instead of sending them to be refused", async () => {
    const sent: string[] = [];
    const socket = await openSessionSocket({
      url: "ws://grid.test/v1/session",
      token: "t",
      timeoutMs: 60_000,
      pingMs: 60_000,
      onWork: () => {},
      onClose: () => {},
      WebSocket: fakeSocketClass(sent),
    });
    for (let i = 0; i < 150; i++) void socket.request({ type: "release", leaseId: `l${i}` }).catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    // The coordinator allows a burst of 100 then 50 a second: the rest wait their turn.
    expect(sent.length).toBeGreaterThan(50);
    expect(sent.length).toBeLessThan(100);
    socket.close();
  });
});

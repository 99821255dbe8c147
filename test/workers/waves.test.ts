import { describe, expect, it } from "vitest";
import { inWaves } from "../../coordinator/waves.ts";

describe("calling many objects in waves", () => {
  it("sends a bounded number at once and settles each wave in one step before the next starts", async () => {
    const events: string[] = [];
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    await inWaves(
      items,
      8,
      async (i) => {
        events.push(`send ${i}`);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        inFlight--;
        if (i % 7 === 3) throw new Error(`item ${i} failed`);
      },
      (wave, outcomes) => events.push(`settled ${wave.join(",")}: ${outcomes.map((o) => (o.status === "fulfilled" ? "ok" : "failed")).join(",")}`),
    );
    expect(most).toBe(8);
    const settled = events.filter((e) => e.startsWith("settled"));
    expect(settled).toEqual([
      "settled 0,1,2,3,4,5,6,7: ok,ok,ok,failed,ok,ok,ok,ok",
      "settled 8,9,10,11,12,13,14,15: ok,ok,failed,ok,ok,ok,ok,ok",
      "settled 16,17,18,19: ok,failed,ok,ok",
    ]);
    // Each wave is settled before any call of the next one is made.
    expect(events.indexOf(settled[0]!)).toBe(8);
    expect(events.indexOf("send 8")).toBe(9);
    expect(events.indexOf(settled[1]!)).toBe(17);
  });

  it("counts a call that throws at once as failed and goes on with the rest", async () => {
    const settled: string[] = [];
    await inWaves(
      [1, 2, 3],
      2,
      (i) => {
        if (i === 1) throw new Error("no stub for it");
        return Promise.resolve(i);
      },
      (wave, outcomes) => settled.push(`${wave.join(",")}: ${outcomes.map((o) => o.status).join(",")}`),
    );
    expect(settled).toEqual(["1,2: rejected,fulfilled", "3: fulfilled"]);
  });

  it("does nothing for no items", async () => {
    let calls = 0;
    await inWaves(
      [],
      8,
      async () => calls++,
      () => calls++,
    );
    expect(calls).toBe(0);
  });
});

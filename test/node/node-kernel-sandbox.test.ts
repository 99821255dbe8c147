import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeKernelWorker } from "../../client/node/kernel-thread.ts";
import { createFakeCoordinator } from "../../client/volunteer/fake-coordinator.ts";
import { createVolunteerLoop } from "../../client/volunteer/loop.ts";
import { createModuleLoader } from "../../client/volunteer/modules.ts";
import { createMemoryOutbox } from "../../client/volunteer/outbox.ts";
import { createKernelPool } from "../../client/volunteer/pool.ts";
import { startCanary, type Canary } from "../support/canary.ts";
import { until } from "../support/browser.ts";
import { ENDLESS_KERNEL, HOSTILE_KERNEL } from "../support/hostile-kernel.ts";

// Published kernels in the Node volunteer's real worker threads (the scheduling core, module
// loader and kernel pool of `colmeia volunteer`), against the in-memory fake coordinator.
let canary: Canary;
beforeAll(async () => void (canary = await startCanary()));
afterAll(() => canary?.close());

/** Runs every input as a shard of one published kernel; answers outputs and errors by shard. */
async function runPublished(language: "js" | "wasm", code: string | Uint8Array, inputs: unknown[], ttlMs = 60_000) {
  const bytes = typeof code === "string" ? new TextEncoder().encode(code) : code;
  const ref = { language, url: "/v1/kernels/k_node/module", sha256: createHash("sha256").update(bytes).digest("hex") };
  const fake = createFakeCoordinator({ kernel: "k_node", inputs, ttlMs, module: { ref, bytes } });
  const pool = createKernelPool({ spawn: nodeKernelWorker, size: 2 });
  const loop = createVolunteerLoop({
    api: fake.api,
    pool,
    modules: createModuleLoader({ api: fake.api }),
    outbox: createMemoryOutbox(),
    threads: 2,
    submitDelayMs: 5,
    errorPauseMs: 5,
  });
  loop.start();
  try {
    await until(() => fake.outputs.size + fake.errors.size === inputs.length, 60_000, "every shard's result");
  } finally {
    await loop.stop(0);
    pool.close();
  }
  return { outputs: Object.fromEntries(fake.outputs), errors: Object.fromEntries(fake.errors), fake };
}

describe("published kernels in the Node volunteer", () => {
  it("runs a js/1 kernel in QuickJS and a wasm/1 kernel in its worker thread, to the exact result", async () => {
    const js = "export function compute(input, params) { return { squares: input.map((x) => x * x), params } }";
    expect((await runPublished("js", js, [[1, 2], [3]])).outputs).toEqual({ s0: { squares: [1, 4], params: {} }, s1: { squares: [9], params: {} } });
    const wasm = new Uint8Array(readFileSync(new URL("../fixtures/sum-bytes.wasm", import.meta.url)));
    const { outputs, fake } = await runPublished("wasm", wasm, [[1, 2, 3], "é"]);
    expect(outputs).toEqual({
      s0: { bytes: 7, sum: [..."[1,2,3]"].reduce((a, c) => a + c.charCodeAt(0), 0), paramsBytes: 2 },
      s1: { bytes: 4, sum: 34 + 0xc3 + 0xa9 + 34, paramsBytes: 2 },
    });
    expect(fake.calls.filter((c) => c.startsWith("module:"))).toHaveLength(1);
  });

  it("gives a hostile js/1 kernel no file, no process, no module loading and no socket", async () => {
    const { outputs } = await runPublished("js", HOSTILE_KERNEL, [{ canary: canary.url }]);
    const report = outputs.s0 as Record<string, string>;
    expect(Object.keys(report)).toHaveLength(24);
    for (const [attempt, outcome] of Object.entries(report)) expect(outcome, attempt).toMatch(/^blocked: /);
    expect(report.require).toBe("blocked: ReferenceError");
    expect(report["import node:fs"]).toBe("blocked: ReferenceError"); // QuickJS: could not load module
    expect(canary.hits).toEqual([]);
  });

  it("stops an endless loop at the lease's time cap and reports it as the shard's error", async () => {
    const started = Date.now();
    const { errors } = await runPublished("js", ENDLESS_KERNEL, [{}], 2000);
    expect(errors.s0!.message).toMatch(/^TimeoutError: the kernel exceeded the \d+ ms shard time limit$/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("caps a memory bomb and reports it as the shard's error", async () => {
    const bomb = "export function compute() { const keep = []; for (;;) keep.push(new Uint8Array(1 << 24).fill(1)); }";
    const { errors } = await runPublished("js", bomb, [{}]);
    expect(errors.s0!.message).toMatch(/^InternalError: out of memory/);
  });
});

import { describe, expect, it } from "vitest";
import { createKernelPool } from "./pool.ts";
import { fakeWorkers } from "./test-workers.ts";

const task = (input: unknown) => ({ kernel: "k", params: {}, input });

describe("createKernelPool", () => {
  it("returns a kernel's output and reuses the same warm worker", async () => {
    const { spawn, stats } = fakeWorkers((t) => ({ output: { echo: t.input } }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task(1))).toMatchObject({ ok: true, output: { echo: 1 } });
    expect(await pool.run(task(2))).toMatchObject({ ok: true, output: { echo: 2 } });
    expect(stats).toEqual({ spawned: 1, terminated: 0 });
  });

  it("starts its workers ahead of the first tasks when warmed, and runs those tasks on them", async () => {
    const { spawn, stats } = fakeWorkers(() => ({ output: 1, ms: 5 }));
    const pool = createKernelPool({ spawn, size: 2 });
    pool.warm();
    expect(stats.spawned).toBe(2);
    await Promise.all([pool.run(task(1)), pool.run(task(2))]);
    pool.warm();
    expect(stats).toEqual({ spawned: 2, terminated: 0 });
  });

  it("runs concurrent tasks on distinct workers", async () => {
    const { spawn, stats } = fakeWorkers(() => ({ output: 1, ms: 20 }));
    const pool = createKernelPool({ spawn, size: 3 });
    await Promise.all([pool.run(task(1)), pool.run(task(2)), pool.run(task(3))]);
    expect(stats.spawned).toBe(3);
  });

  it("replaces the worker of a kernel that threw and reports the error", async () => {
    const { spawn, stats } = fakeWorkers((t) => (t.input === "bad" ? { throws: "boom" } : { output: "fine" }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task("bad"))).toMatchObject({ ok: false, reason: "error", error: "boom" });
    expect(stats.terminated).toBe(1);
    expect(await pool.run(task("good"))).toMatchObject({ ok: true, output: "fine" });
    expect(stats.spawned).toBe(2);
  });

  it("reads a worker's reply on this side: a forged reply is a crash, an unsendable output a kernel error, and the pool goes on", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const replies: Record<string, unknown> = {
      null: null,
      text: "x",
      noOk: { output: 1 },
      bigint: { ok: true, output: { n: 1n } },
      cyclic: { ok: true, output: cyclic },
    };
    const { spawn, stats } = fakeWorkers((t) => (t.input === "fine" ? { output: { a: [1, "b"] } } : { reply: replies[t.input as string] }));
    const pool = createKernelPool({ spawn });
    for (const forged of ["null", "text", "noOk"]) {
      expect(await pool.run(task(forged))).toMatchObject({ ok: false, reason: "crash", error: "the kernel's worker answered something that is not a reply" });
    }
    expect(await pool.run(task("bigint"))).toMatchObject({
      ok: false,
      reason: "error",
      error: expect.stringMatching(/^Error: the output is not JSON \(TypeError/),
    });
    expect(await pool.run(task("cyclic"))).toMatchObject({ ok: false, reason: "error", error: expect.stringMatching(/^Error: the output is not JSON/) });
    expect(stats.terminated).toBe(5);
    expect(await pool.run(task("fine"))).toEqual({ ok: true, output: { a: [1, "b"] }, ms: expect.any(Number) });
  });

  it("believes 'cannot run' of built-ins only: a published kernel saying it is that shard's error", async () => {
    const { spawn } = fakeWorkers(() => ({ cannotRun: "this volunteer does not know kernel" }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task(1))).toMatchObject({ ok: false, reason: "unsupported" });
    const published = { ...task(1), kernel: "k_abc", module: { language: "js" as const, bytes: new Uint8Array(), sha256: "x" } };
    expect(await pool.run(published)).toMatchObject({ ok: false, reason: "error", error: "this volunteer does not know kernel" });
  });

  it("refuses an output over the contract's size as the kernel's error, before anything stores it", async () => {
    const { spawn } = fakeWorkers(() => ({ output: "x".repeat(600 * 1024) }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task(1))).toMatchObject({ ok: false, reason: "error", error: "Error: the output exceeds 524288 characters of JSON" });
  });

  it("terminates a worker whose shard exceeds the time limit and replaces it", async () => {
    const { spawn, stats } = fakeWorkers((t) => (t.input === "hang" ? { hangs: true } : { output: "ok" }));
    const pool = createKernelPool({ spawn, timeoutMs: 50 });
    const outcome = await pool.run(task("hang"));
    expect(outcome).toMatchObject({ ok: false, reason: "timeout" });
    expect(outcome.ms).toBeGreaterThanOrEqual(45);
    expect(stats.terminated).toBe(1);
    expect(await pool.run(task("next"))).toMatchObject({ ok: true, output: "ok" });
  });

  it("turns a crashed worker into a crash outcome instead of a rejection", async () => {
    const { spawn, stats } = fakeWorkers(() => ({ crashes: "worker died" }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task(0))).toMatchObject({ ok: false, reason: "crash", error: expect.stringContaining("worker died") });
    expect(stats.terminated).toBe(1);
  });

  it("keeps no more idle workers than its size after shrinking, and none after close", async () => {
    const { spawn, stats } = fakeWorkers(() => ({ output: 1, ms: 5 }));
    const pool = createKernelPool({ spawn, size: 4 });
    await Promise.all([1, 2, 3, 4].map((i) => pool.run(task(i))));
    pool.resize(1);
    expect(stats.terminated).toBe(3);
    pool.close();
    expect(stats.terminated).toBe(4);
  });

  it("dedicates a worker that ran a published JS kernel to that kernel and gives other tasks a fresh one", async () => {
    const { spawn, stats } = fakeWorkers(() => ({ output: 1 }));
    const pool = createKernelPool({ spawn, size: 1, dedicate: (t) => (t.kernel.startsWith("k_") ? t.kernel : undefined) });
    await pool.run(task(1));
    expect(stats).toEqual({ spawned: 1, terminated: 0 });
    await pool.run({ ...task(2), kernel: "k_a" }); // a clean worker may take it, and is dedicated to k_a from then on
    await pool.run({ ...task(3), kernel: "k_a" });
    expect(stats).toEqual({ spawned: 1, terminated: 0 });
    await pool.run(task(4)); // the built-in needs a clean worker: the k_a one makes room
    expect(stats).toEqual({ spawned: 2, terminated: 1 });
    await pool.run({ ...task(5), kernel: "k_b" });
    await pool.run({ ...task(6), kernel: "k_a" });
    expect(stats).toEqual({ spawned: 3, terminated: 2 });
  });

  it("reports a kernel this volunteer cannot run as unsupported", async () => {
    const { spawn } = fakeWorkers(() => ({ cannotRun: "unknown kernel" }));
    const pool = createKernelPool({ spawn });
    expect(await pool.run(task(0))).toMatchObject({ ok: false, reason: "unsupported", error: "unknown kernel" });
  });
});

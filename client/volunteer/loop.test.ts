import { afterEach, describe, expect, it } from "vitest";
import { createFakeCoordinator } from "./fake-coordinator.ts";
import { createInputLoader } from "./inputs.ts";
import { createVolunteerLoop, type VolunteerLoop, type VolunteerLoopOptions } from "./loop.ts";
import { createMemoryOutbox } from "./outbox.ts";
import { createKernelPool } from "./pool.ts";
import { fakeWorkers, type FakeBehaviour } from "./test-workers.ts";
import type { VolunteerEvent } from "./types.ts";

const loops: VolunteerLoop[] = [];
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop(0)));
});

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A volunteer against the fake coordinator; kernels double their input unless `behave` says otherwise. */
function setup(
  inputs: unknown[],
  extra: Partial<VolunteerLoopOptions> & { behave?: (input: unknown) => FakeBehaviour; ttlMs?: number; inputBytes?: (input: unknown) => Uint8Array } = {},
) {
  const fake = createFakeCoordinator({ inputs, ttlMs: extra.ttlMs, inputBytes: extra.inputBytes });
  const workers = fakeWorkers((t) => extra.behave?.(t.input) ?? { output: { n: (t.input as number) * 2 } });
  const outbox = createMemoryOutbox();
  const events: VolunteerEvent[] = [];
  const loop = createVolunteerLoop({
    api: fake.api,
    pool: createKernelPool({ spawn: workers.spawn, size: extra.threads ?? 1 }),
    outbox,
    submitDelayMs: 5,
    offlineBackoff: { baseMs: 10, maxMs: 40 },
    idleBackoff: { baseMs: 10, maxMs: 40 },
    onEvent: (e) => e.type !== "change" && events.push(e),
    ...extra,
  });
  loops.push(loop);
  return { fake, workers, outbox, events, loop };
}

describe("createVolunteerLoop", () => {
  it("computes and submits every shard, leasing and submitting in batches", async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => i);
    const { fake, loop } = setup(inputs, { threads: 2, behave: (i) => ({ output: { n: (i as number) * 2 }, ms: 2 }) });
    loop.start();
    await until(() => fake.outputs.size === 40);
    expect([...fake.outputs.entries()].every(([shard, out]) => (out as { n: number }).n === Number(shard.slice(1)) * 2)).toBe(true);
    const leaseCalls = fake.calls.filter((c) => c.startsWith("lease:"));
    const submitCalls = fake.calls.filter((c) => c.startsWith("submit:"));
    expect(leaseCalls[0]).toBe("lease:6");
    expect(submitCalls.length).toBeLessThan(40);
    await until(() => loop.status().accepted === 40 && loop.status().pending === 0);
  });

  it("keeps computed results while the coordinator is unreachable and submits them once it is back", async () => {
    const { fake, loop, outbox } = setup([1, 2, 3, 4], { threads: 2 });
    loop.start();
    await until(() => fake.leases.size === 4);
    fake.down = true;
    await until(() => loop.status().computed === 4);
    await until(() => loop.status().connection === "offline");
    expect(await outbox.count()).toBe(4);
    expect(fake.outputs.size).toBe(0);
    fake.down = false;
    await until(() => fake.outputs.size === 4);
    await until(() => loop.status().connection === "online" && loop.status().pending === 0);
    expect(await outbox.count()).toBe(0);
  });

  it("sends results left in the outbox by an earlier run, counting an already-submitted one as accepted", async () => {
    const { fake, loop, outbox } = setup([1, 2]);
    const [a, b] = await fake.api.lease(2);
    await fake.api.submit([{ leaseId: a!.id, output: 1 }]); // sent before, answer lost
    for (const l of [a!, b!]) {
      await outbox.add({ leaseId: l.id, jobId: l.jobId, shardId: l.shardId, kernel: l.kernel, output: 1, computedAt: 0, expiresAt: l.expiresAt });
    }
    loop.start();
    await until(() => loop.status().accepted === 2);
    expect(await outbox.count()).toBe(0);
    expect(fake.outputs.size).toBe(2);
  });

  it("polls with growing jittered delays while there is no work, and picks up new work", async () => {
    const { fake, loop } = setup([]);
    loop.start();
    await until(() => fake.calls.filter((c) => c.startsWith("lease")).length >= 4);
    expect(loop.status().waitingForWork).toBe(true);
    fake.add(7);
    await until(() => fake.outputs.get("s0") !== undefined, 2000);
  });

  it("stops leasing on pause, releases queued leases, and resumes", async () => {
    const inputs = Array.from({ length: 30 }, (_, i) => i);
    const { fake, loop } = setup(inputs, { behave: () => ({ output: { n: 0 }, ms: 20 }) });
    loop.start();
    await until(() => loop.status().computed >= 2);
    loop.pause();
    expect(loop.status().queued).toBe(0);
    await until(() => loop.status().running.length === 0);
    await new Promise((r) => setTimeout(r, 50));
    const leaseCalls = fake.calls.filter((c) => c.startsWith("lease")).length;
    const computed = loop.status().computed;
    await new Promise((r) => setTimeout(r, 150));
    expect(fake.calls.filter((c) => c.startsWith("lease")).length).toBe(leaseCalls);
    expect(loop.status().computed).toBe(computed);
    expect(fake.calls.some((c) => c.startsWith("release:"))).toBe(true);
    expect(loop.heldLeases()).toEqual([]);
    loop.resume();
    await until(() => fake.outputs.size === 30);
  });

  it("reports a kernel that throws or hangs as the shard's error result, shows it and carries on", async () => {
    const { fake, loop, events, workers } = setup([1, "throw", 2, "hang", 3], {
      shardTimeoutMs: 50,
      errorPauseMs: 5,
      behave: (i) => (i === "throw" ? { throws: "kernel exploded" } : i === "hang" ? { hangs: true } : { output: { n: 1 } }),
    });
    loop.start();
    await until(() => fake.errors.size === 2 && fake.outputs.size === 3);
    expect(Object.fromEntries(fake.errors)).toEqual({
      s1: { message: "kernel exploded" },
      s3: { message: "TimeoutError: the kernel exceeded the 50 ms shard time limit" },
    });
    const errors = events.filter((e) => e.type === "kernel-error");
    expect(errors.map((e) => e.type === "kernel-error" && [e.reason, e.reported])).toEqual([
      ["error", true],
      ["timeout", true],
    ]);
    expect(loop.status()).toMatchObject({ kernelErrors: 2, computed: 3 });
    expect(loop.status().lastError).toMatch(/exceeded the 50 ms/);
    expect(fake.calls.filter((c) => c.startsWith("release:"))).toEqual([]);
    await until(() => loop.status().accepted === 5 && loop.status().pending === 0);
    expect(workers.stats.terminated).toBe(2);
  });

  it("cuts a kernel error message to the 1000 characters the coordinator takes", async () => {
    const { fake, loop } = setup([1], { errorPauseMs: 5, behave: () => ({ throws: "x".repeat(5000) }) });
    loop.start();
    await until(() => fake.errors.size === 1);
    expect(fake.errors.get("s0")!.message).toHaveLength(1000);
  });

  it("hands back a shard it cannot run, without reporting an error for it", async () => {
    const { fake, loop, events } = setup([1], { errorPauseMs: 5, behave: () => ({ cannotRun: "this volunteer does not know kernel" }) });
    loop.start();
    await until(() => fake.calls.some((c) => c.startsWith("release:")));
    expect(fake.errors.size).toBe(0);
    expect(events.find((e) => e.type === "kernel-error")).toMatchObject({ reason: "unsupported", reported: false });
    expect(loop.status().kernelErrors).toBe(1);
  });

  it("heartbeats a shard that runs past half its lease and never holds it longer than needed", async () => {
    const { fake, loop } = setup([1], { ttlMs: 1000, heartbeatTickMs: 20, behave: () => ({ output: { n: 1 }, ms: 1300 }) });
    loop.start();
    await until(() => fake.outputs.size === 1, 4000);
    expect(fake.calls.filter((c) => c.startsWith("heartbeat:")).length).toBeGreaterThanOrEqual(2);
  });

  it("throttles each thread to its duty cycle", async () => {
    const run = async (dutyCycle: number) => {
      const { fake, loop } = setup(
        Array.from({ length: 200 }, (_, i) => i),
        { dutyCycle, behave: () => ({ output: { n: 1 }, ms: 20 }) },
      );
      loop.start();
      await new Promise((r) => setTimeout(r, 600));
      await loop.stop(0);
      return fake.outputs.size + loop.status().computed;
    };
    const full = await run(1);
    const quarter = await run(0.25);
    expect(quarter).toBeLessThan(full * 0.45);
    expect(quarter).toBeGreaterThan(0);
  });

  it("uses more threads when told to at run time", async () => {
    const { fake, loop } = setup(
      Array.from({ length: 60 }, (_, i) => i),
      { behave: () => ({ output: { n: 1 }, ms: 30 }) },
    );
    loop.start();
    await until(() => loop.status().computed >= 1);
    loop.setThreads(3);
    await until(() => loop.status().running.length === 3, 1000);
    await until(() => fake.outputs.size === 60);
  });

  it("holds a computed lease until its result is stored, so a closing volunteer never drops it", async () => {
    const { fake, loop, outbox } = setup([1]);
    let store!: () => void;
    const add = outbox.add;
    outbox.add = async (r) => (await new Promise<void>((resolve) => (store = resolve)), add(r));
    loop.start();
    await until(() => store !== undefined);
    expect(loop.heldLeases().map((l) => l.shardId)).toEqual(["s0"]);
    store();
    await until(() => loop.heldLeases().length === 0 && fake.outputs.size === 1);
  });

  it("starts the next shard while the last one's result is still being stored", async () => {
    const { fake, loop, outbox } = setup([1, 2]);
    const stores: Array<() => void> = [];
    const add = outbox.add;
    outbox.add = async (r) => (await new Promise<void>((resolve) => stores.push(resolve)), add(r));
    loop.start();
    // One thread, and both kernels have run: the second did not wait for the first's store.
    await until(() => stores.length === 2);
    expect(
      loop
        .heldLeases()
        .map((l) => l.shardId)
        .sort(),
    ).toEqual(["s0", "s1"]);
    stores.forEach((store) => store());
    await until(() => fake.outputs.size === 2 && loop.heldLeases().length === 0);
  });

  it("asks for bigger batches when lease calls are slow and shards quick, so threads do not run dry", async () => {
    const { fake, loop } = setup(
      Array.from({ length: 300 }, (_, i) => i),
      { behave: () => ({ output: { n: 1 }, ms: 2 }) },
    );
    const lease = fake.api.lease;
    fake.api.lease = async (max) => (await new Promise((r) => setTimeout(r, 80)), lease(max));
    loop.start();
    await until(() => fake.outputs.size === 300, 10_000);
    const asked = fake.calls.filter((c) => c.startsWith("lease:")).map((c) => Number(c.slice(6)));
    expect(asked[0]).toBe(5);
    expect(Math.max(...asked)).toBeGreaterThan(30);
  });

  it("leases again as soon as a slow shard finishes, with no queue to wake it and no timer", async () => {
    // Shards that take 3 s by the pool's clock (none of them real time): slow, so none is queued
    // beyond one per thread, and the only thing that can ask for the next lease is a shard ending.
    const workers = fakeWorkers((t) => ({ output: { n: t.input } }));
    let clock = 0;
    const pool = createKernelPool({ spawn: workers.spawn, now: () => (clock += 3000) });
    const { fake, loop } = setup(
      Array.from({ length: 8 }, (_, i) => i),
      { pool },
    );
    loop.start();
    await until(() => fake.outputs.size === 8);
    // The first call asks for the default prefetch; once shards are known to be slow, one at a time.
    expect(fake.calls.filter((c) => c.startsWith("lease:")).slice(0, 4)).toEqual(["lease:5", "lease:1", "lease:1", "lease:1"]);
  });

  it("keeps leasing after a pause and resume that happen while a lease call is on its way", async () => {
    const { fake, loop } = setup(Array.from({ length: 20 }, (_, i) => i));
    const lease = fake.api.lease;
    fake.api.lease = async (max) => (await new Promise((r) => setTimeout(r, 30)), lease(max));
    loop.start();
    await new Promise((r) => setTimeout(r, 5));
    loop.pause();
    loop.resume();
    await until(() => fake.outputs.size === 20, 3000);
  });
});

describe("createVolunteerLoop with dataset shards", () => {
  const shard = (offset: number) => ({ dataset: "d_1", offset, length: 4 });
  const bytesOf = (input: unknown) => new TextEncoder().encode(`línea ${(input as { offset: number }).offset}\n`);

  it("fetches each shard's bytes once and runs the kernel on {...input, text}, dropping them when the lease ends", async () => {
    const seen: unknown[] = [];
    const fake = createFakeCoordinator({ inputs: [shard(0), shard(4)], inputBytes: bytesOf });
    const inputs = createInputLoader({ api: fake.api });
    const { loop } = setup([], {
      api: fake.api,
      inputs,
      behave: (input) => (seen.push(input), { output: { n: 1 } }),
    });
    loop.start();
    await until(() => fake.outputs.size === 2);
    expect(seen).toEqual([
      { ...shard(0), text: "línea 0\n" },
      { ...shard(4), text: "línea 4\n" },
    ]);
    expect(fake.calls.filter((c) => c.startsWith("input:"))).toEqual(["input:/v1/leases/l1/input", "input:/v1/leases/l2/input"]);
    expect(inputs.size).toBe(0);
  });

  it("drops a lease whose input answers 410, sending no result and not counting a kernel error", async () => {
    const { fake, loop, events, workers } = setup([shard(0), shard(4)], { inputBytes: bytesOf });
    fake.inputStatus.set("s0", 410);
    loop.start();
    await until(() => fake.outputs.size === 1);
    await until(() => loop.status().accepted === 1);
    expect([...fake.outputs.keys()]).toEqual(["s1"]);
    expect(fake.errors.size).toBe(0);
    expect(events).toContainEqual({ type: "lease-lost", leaseId: "l1", status: 410 });
    expect(fake.calls.filter((c) => c.startsWith("submit:") || c.startsWith("release:"))).toEqual(["submit:1"]);
    expect(workers.stats.spawned).toBe(1);
    expect(loop.status()).toMatchObject({ kernelErrors: 0, computed: 1, rejected: 0 });
  });

  it("hands back a shard whose input stays unreachable, then computes it once the coordinator answers", async () => {
    const { fake, loop, events } = setup([shard(0)], { inputBytes: bytesOf, errorPauseMs: 5 });
    fake.inputStatus.set("s0", 0);
    loop.start();
    await until(() => fake.calls.includes("release:l1"));
    // Six attempts with backoff (the test's offline backoff: 10 ms doubling to 40 ms), then handed back.
    expect(fake.calls.filter((c) => c === "input:/v1/leases/l1/input")).toHaveLength(6);
    expect(events.some((e) => e.type === "kernel-error")).toBe(false);
    expect(loop.status().lastError).toMatch(/shard input unavailable/);
    fake.inputStatus.delete("s0");
    await until(() => fake.outputs.has("s0"));
    expect(loop.status().kernelErrors).toBe(0);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { createVolunteerApi, memoryIdentity } from "./api.ts";
import { createFakeCoordinator } from "./fake-coordinator.ts";
import { createVolunteerLoop, type VolunteerLoop } from "./loop.ts";
import { createModuleLoader } from "./modules.ts";
import { createMemoryOutbox } from "./outbox.ts";
import { createKernelPool } from "./pool.ts";
import { fakeWorkers } from "./test-workers.ts";
import type { VolunteerEvent } from "./types.ts";

const loops: VolunteerLoop[] = [];
afterEach(async () => void (await Promise.all(loops.splice(0).map((l) => l.stop(0)))));

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};

const hex = async (bytes: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A 4 MiB "module" (the largest a kernel may be) and the lease reference to it. */
async function bigModule(sha256?: string) {
  const bytes = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
  return { bytes, ref: { language: "wasm" as const, url: "/v1/kernels/k_big/module", sha256: sha256 ?? (await hex(bytes)) } };
}

/** A volunteer against the fake coordinator whose leases name `module`; workers echo the module size they got. */
function setup(module: Awaited<ReturnType<typeof bigModule>>, shards: number, served = module) {
  const fake = createFakeCoordinator({
    kernel: "k_big",
    inputs: Array.from({ length: shards }, (_, i) => i),
    module: { ref: module.ref, bytes: served.bytes },
  });
  const workers = fakeWorkers((t) => ({ output: { moduleBytes: t.module?.bytes.length, sha256: t.module?.sha256 }, ms: 2 }));
  const events: VolunteerEvent[] = [];
  const loop = createVolunteerLoop({
    api: fake.api,
    pool: createKernelPool({ spawn: workers.spawn, size: 3 }),
    outbox: createMemoryOutbox(),
    modules: createModuleLoader({ api: fake.api, backoff: { baseMs: 5, maxMs: 20 } }),
    threads: 3,
    submitDelayMs: 5,
    errorPauseMs: 5,
    idleBackoff: { baseMs: 10, maxMs: 40 },
    onEvent: (e) => e.type !== "change" && events.push(e),
  });
  loops.push(loop);
  return { fake, loop, events };
}

describe("published kernel modules", () => {
  it("fetches a 4 MiB module once for all its shards and hands its verified bytes to the workers", async () => {
    const module = await bigModule();
    const { fake, loop } = setup(module, 24);
    loop.start();
    await until(() => fake.outputs.size === 24);
    expect(fake.calls.filter((c) => c.startsWith("module:"))).toEqual(["module:/v1/kernels/k_big/module"]);
    expect(new Set([...fake.outputs.values()].map((o) => JSON.stringify(o)))).toEqual(
      new Set([JSON.stringify({ moduleBytes: 4 * 1024 * 1024, sha256: module.ref.sha256 })]),
    );
  });

  it("hands back shards whose module does not match the leased SHA-256, and runs nothing", async () => {
    const module = await bigModule();
    const tampered = { ...module, bytes: module.bytes.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    const { fake, loop, events } = setup(module, 1, tampered);
    loop.start();
    await until(() => fake.calls.some((c) => c.startsWith("release:")));
    expect(fake.outputs.size + fake.errors.size).toBe(0);
    const error = events.find((e) => e.type === "kernel-error");
    expect(error).toMatchObject({ reason: "module", reported: false, message: expect.stringMatching(/SHA-256/) });
  });

  it("retries an unreachable coordinator with backoff, then shares one download", async () => {
    const module = await bigModule();
    const fake = createFakeCoordinator({ module });
    let failures = 2;
    const download = fake.api.module;
    fake.api.module = async (url) => {
      if (failures-- > 0) throw Object.assign(new Error("down"), { status: 0 });
      return download(url);
    };
    const modules = createModuleLoader({ api: fake.api, backoff: { baseMs: 5, maxMs: 20 } });
    const loaded = await Promise.all([modules.load(module.ref), modules.load(module.ref)]);
    expect(loaded[0]).toBe(loaded[1]);
    expect(fake.calls.filter((c) => c.startsWith("module:"))).toHaveLength(1);
    expect(await modules.load(module.ref)).toBe(loaded[0]);
  });

  it("sends the volunteer token for modules to the coordinator's origin only", async () => {
    const seen: string[] = [];
    const api = createVolunteerApi({
      baseUrl: "http://grid.test",
      identity: memoryIdentity({ id: "v", token: "t" }),
      fetch: (async (url: URL) => (seen.push(String(url)), new Response(new Uint8Array([1, 2, 3])))) as typeof fetch,
    });
    expect(await api.module("/v1/kernels/k_1/module")).toEqual(new Uint8Array([1, 2, 3]));
    await expect(api.module("https://elsewhere.test/v1/kernels/k_1/module")).rejects.toMatchObject({ code: "foreign_module" });
    expect(seen).toEqual(["http://grid.test/v1/kernels/k_1/module"]);
  });
});

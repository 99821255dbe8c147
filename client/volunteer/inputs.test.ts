import { describe, expect, it } from "vitest";
import { ColmeiaError } from "../api/errors.ts";
import { createVolunteerApi, memoryIdentity } from "./api.ts";
import { createInputLoader } from "./inputs.ts";
import { createMemoryOutbox } from "./outbox.ts";
import { createKernelPool, type KernelTask } from "./pool.ts";
import { runShard } from "./shard-runner.ts";
import { fakeWorkers } from "./test-workers.ts";
import type { HeldLease, Lease } from "./types.ts";

const lease = (id: string, extra: Partial<Lease> = {}): Lease => ({
  id,
  jobId: "j1",
  shardId: `s-${id}`,
  kernel: "wordcount",
  params: {},
  input: { dataset: "d_1", offset: 0, length: 3 },
  expiresAt: Date.now() + 60_000,
  inputUrl: `/v1/leases/${id}/input`,
  ...extra,
});
const held = (l: Lease): HeldLease => ({ lease: l, renewedAt: Date.now(), ttlMs: 60_000 });

/** An input api answering from `answer` (bytes, or an error to throw), counting calls per URL. */
function inputApi(answer: (url: string, n: number) => Uint8Array | ColmeiaError) {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async input(url: string) {
        calls.push(url);
        const out = answer(url, calls.length);
        if (out instanceof ColmeiaError) throw out;
        return out;
      },
    },
  };
}

describe("createInputLoader", () => {
  it("fetches a lease's bytes once however often they are asked for, and again only after forget", async () => {
    const { api, calls } = inputApi(() => new Uint8Array([1, 2, 3]));
    const inputs = createInputLoader({ api });
    const l = lease("l1");
    const [a, b] = await Promise.all([inputs.load(l), inputs.load(l)]);
    expect(await inputs.load(l)).toBe(a);
    expect(b).toBe(a);
    expect(calls).toEqual(["/v1/leases/l1/input"]);
    inputs.forget("l1");
    expect(inputs.size).toBe(0);
    await inputs.load(l);
    expect(calls).toHaveLength(2);
  });

  it("retries an unreachable coordinator with backoff and gives up after its attempts", async () => {
    const down = new ColmeiaError(0, "unreachable", "down");
    const { api, calls } = inputApi((_, n) => (n < 3 ? down : new Uint8Array([9])));
    const inputs = createInputLoader({ api, backoff: { baseMs: 1, maxMs: 2 } });
    expect(await inputs.load(lease("l1"))).toEqual(new Uint8Array([9]));
    expect(calls).toHaveLength(3);
    const never = createInputLoader({ api: inputApi(() => down).api, backoff: { baseMs: 1, maxMs: 2 }, attempts: 4 });
    await expect(never.load(lease("l2"))).rejects.toMatchObject({ status: 0 });
    expect(never.size).toBe(0);
  });

  it("rejects at once when the coordinator refuses, and stops retrying once the lease is no longer held", async () => {
    const { api, calls } = inputApi(() => new ColmeiaError(410, "lease_expired", "gone"));
    await expect(createInputLoader({ api }).load(lease("l1"))).rejects.toMatchObject({ status: 410 });
    expect(calls).toHaveLength(1);
    const down = inputApi(() => new ColmeiaError(503, "busy", "busy"));
    let holding = true;
    const loading = createInputLoader({ api: down.api, backoff: { baseMs: 20, maxMs: 20 } }).load(lease("l2"), () => holding);
    holding = false;
    await expect(loading).rejects.toMatchObject({ status: 410, code: "lease_lost" });
    expect(down.calls).toHaveLength(1);
  });
});

describe("runShard on a dataset lease", () => {
  const bytes = new TextEncoder().encode("a b\n");
  const run = async (l: Lease, module = false) => {
    const tasks: KernelTask[] = [];
    const pool = createKernelPool({ spawn: fakeWorkers((t) => (tasks.push(t), { output: { counts: {} } })).spawn });
    const inputs = createInputLoader({ api: inputApi(() => bytes).api });
    const modules = { load: async () => ({ language: "js" as const, sha256: "x", bytes: new Uint8Array() }) };
    const end = await runShard(held(l), { pool, outbox: createMemoryOutbox(), inputs, ...(module && { modules }), now: Date.now });
    pool.close();
    return { end, task: tasks[0] };
  };

  it("gives a built-in kernel the lease's input with the shard's bytes as UTF-8 text", async () => {
    const { end, task } = await run(lease("l1", { input: { dataset: "d_1", offset: 8, length: 3, header: "a,b" } }));
    expect(end.kind).toBe("stored");
    expect(task!.input).toEqual({ dataset: "d_1", offset: 8, length: 3, header: "a,b", text: "a b\n" });
  });

  it("gives a published kernel the shard's bytes themselves (README, Kernels you bring: a Uint8Array for js/1, raw bytes for wasm/1)", async () => {
    const { task } = await run(lease("l1", { kernel: "k_1", module: { language: "js", url: "/v1/kernels/k_1/module", sha256: "x" } }), true);
    expect(task!.input).toEqual(bytes);
  });

  it("hands a dataset lease back when this volunteer has no way to fetch inputs", async () => {
    const pool = createKernelPool({ spawn: fakeWorkers(() => ({ output: 1 })).spawn });
    const end = await runShard(held(lease("l1")), { pool, outbox: createMemoryOutbox(), now: Date.now });
    expect(end).toMatchObject({ kind: "no-input" });
  });
});

describe("createVolunteerApi input", () => {
  it("downloads a shard with the volunteer token from the coordinator's origin only", async () => {
    const seen: string[] = [];
    const fetch = (async (url: URL, init: RequestInit) => {
      seen.push(`${init.method} ${url.href} ${(init.headers as Record<string, string>).authorization}`);
      return new Response(new Uint8Array([104, 105]), { headers: { "content-type": "application/octet-stream" } });
    }) as typeof globalThis.fetch;
    const api = createVolunteerApi({ baseUrl: "http://grid.test", identity: memoryIdentity({ id: "v", token: "vt" }), fetch });
    expect(await api.input("/v1/leases/l1/input")).toEqual(new Uint8Array([104, 105]));
    expect(seen).toEqual(["GET http://grid.test/v1/leases/l1/input Bearer vt"]);
    await expect(api.input("https://elsewhere.test/v1/leases/l1/input")).rejects.toMatchObject({ code: "foreign_input" });
    expect(seen).toHaveLength(1);
  });
});

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { gatewayIndex, gatewaySetting } from "../../coordinator/gateway/gateways.ts";
import { objectId } from "../../coordinator/stubs.ts";
import type { Reply } from "../../coordinator/gateway/ops.ts";
import type { GatewayObject } from "../../coordinator/objects/gateway-object.ts";
import type { BatchResultEntry, Lease } from "../../shared/schemas.ts";
import { callWith, honest, primesJob, status, volunteer } from "./helpers.ts";

/** The gateway object of index `i` (its RPC methods, and its instance through runInDurableObject). */
const stubAt = (i: number) => env.GATEWAYS.get(env.GATEWAYS.idFromName(`gateway:${i}`));
const gatewayAt = (i: number) => stubAt(i) as unknown as Pick<GatewayObject, "run">;

/** The gateway count these tests run with (wrangler.toml's). */
const configured = gatewaySetting(env).count;

/** `n` volunteer ids that all map to gateway `i` (the Worker authenticated them; the gateway takes the id it is given). */
function volunteersOf(i: number, n: number): string[] {
  const ids: string[] = [];
  for (let k = 0; ids.length < n; k++) if (gatewayIndex(`v_batch${k}`, configured) === i) ids.push(`v_batch${k}`);
  return ids;
}

const sentBy = (i: number) => runInDurableObject(stubAt(i), (o: GatewayObject) => o.calls.sent);

describe("gateways batch volunteers' calls to job objects", () => {
  it("carries many volunteers' concurrent leases and results in few job calls, each decided for its volunteer", async () => {
    const job = await primesJob(40, 1000);
    const g = gatewayAt(3);
    const vols = volunteersOf(3, 40);
    const before = await sentBy(3);
    const leased = await Promise.all(vols.map((v) => g.run(v, { type: "lease", max: 1 })));
    const leases = leased.map((r: Reply) => (r.body as { leases: Lease[] }).leases);
    expect(leases.every((l) => l.length === 1)).toBe(true);
    // Each volunteer got its own shard, recorded as its own in the job: a lease takes a result from
    // its owner only (anyone else's is 403), so every result below being accepted shows whose it is.
    expect(new Set(leases.map((l) => l[0]!.shardId)).size).toBe(40);

    const submitted = await Promise.all(
      vols.map((v, i) => g.run(v, { type: "results", results: [{ leaseId: leases[i]![0]!.id, output: honest(leases[i]![0]!) }] })),
    );
    expect(submitted.map((r: Reply) => (r.body as { results: BatchResultEntry[] }).results[0]!.status)).toEqual(vols.map(() => 202));
    const after = await sentBy(3);
    expect(after.items - before.items).toBe(80);
    expect(after.calls - before.calls).toBeLessThan(40);
    expect((await status(job.id)).state).toBe("done");
  });

  it("keeps ownership in a batch: another volunteer's lease is 403, a repeat 409, in the same batch as good ones", async () => {
    await primesJob(4, 1000);
    const g = gatewayAt(5);
    const [a, b] = volunteersOf(5, 2) as [string, string];
    const got = (await g.run(a, { type: "lease", max: 2 })).body as { leases: Lease[] };
    const [l1, l2] = got.leases as [Lease, Lease];
    const item = (l: Lease) => ({ leaseId: l.id, output: honest(l) });
    const answers = await Promise.all([
      g.run(b, { type: "results", results: [item(l1)] }),
      g.run(a, { type: "results", results: [item(l2)] }),
      g.run(a, { type: "results", results: [item(l2)] }),
    ]);
    const statuses = answers.map((r: Reply) => (r.body as { results: BatchResultEntry[] }).results[0]!.status);
    expect(statuses[0]).toBe(403);
    expect(statuses.slice(1).sort()).toEqual([202, 409]);
  });

  it("spreads volunteers over GATEWAY_COUNT gateways, and names a setting it cannot use", async () => {
    expect(gatewaySetting({})).toEqual({ count: 16 });
    expect(gatewaySetting({ GATEWAY_COUNT: "3" })).toEqual({ count: 3 });
    expect(gatewaySetting({ GATEWAY_COUNT: "1024" })).toEqual({ count: 1024 });
    for (const bad of ["0", "1025", "2.5", "-4", "sixteen"]) {
      expect(gatewaySetting({ GATEWAY_COUNT: bad })).toEqual({ count: 16, problem: expect.stringContaining(`"${bad}"`) });
    }
    const ids = Array.from({ length: 300 }, (_, k) => `v_spread${k}`);
    expect(new Set(ids.map((v) => gatewayIndex(v, 3)))).toEqual(new Set([0, 1, 2]));

    // An HTTP lease on a grid of 3 gateways runs at the volunteer's gateway among those 3.
    await primesJob(4, 1000);
    let v = await volunteer();
    while (gatewayIndex(v.id, 3) === gatewayIndex(v.id, configured)) v = await volunteer();
    const at = gatewayIndex(v.id, 3);
    const [before, usual] = [await sentBy(at), await sentBy(gatewayIndex(v.id, configured))];
    const res = await callWith({ GATEWAY_COUNT: "3" }, "POST", "/v1/leases", { token: v.token, body: { max: 1 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { leases: Lease[] }).leases).toHaveLength(1);
    expect((await sentBy(at)).items).toBe(before.items + 1);
    expect((await sentBy(gatewayIndex(v.id, configured))).items).toBe(usual.items);
  });

  it("names each object once per isolate: the id kept for a name is the one idFromName gives, per namespace", () => {
    const kept = objectId(env.GATEWAYS, "gateway:0");
    expect(objectId(env.GATEWAYS, "gateway:0")).toBe(kept);
    expect(kept.equals(env.GATEWAYS.idFromName("gateway:0"))).toBe(true);
    expect(objectId(env.GATEWAYS, "gateway:1").equals(kept)).toBe(false);
    // Another namespace, same name: its own id.
    expect(objectId(env.JOBS, "gateway:0").toString()).toBe(env.JOBS.idFromName("gateway:0").toString());
  });
});

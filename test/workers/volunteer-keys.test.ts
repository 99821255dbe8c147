import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { VolunteerObject } from "../../coordinator/objects/volunteer-object.ts";
import type { KernelManifest, Lease } from "../../shared/schemas.ts";
import { ALICE, call, callJson, callWith, createJob, expectError, leaseEventually, status, volunteer, type Volunteer } from "./helpers.ts";

const KEYS = "key-one, key-two";
let address = 0;

/** POST /v1/volunteers on the real app with VOLUNTEER_KEYS (and other bindings) set, from a fresh address. */
async function register(body: unknown, bindings: Record<string, string | undefined> = { VOLUNTEER_KEYS: KEYS }, ip = `198.51.100.${++address}`) {
  return callWith(bindings, "POST", "/v1/volunteers", { body, headers: { "cf-connecting-ip": ip, "content-type": "application/json" } });
}

async function vouched(key = "key-one"): Promise<Volunteer> {
  const res = await register({ key });
  expect(res.status).toBe(201);
  return (await res.json()) as Volunteer;
}

const profile = async (v: Volunteer) => (await callJson("GET", "/v1/volunteers/me", { token: v.token })).body;

describe("VOLUNTEER_KEYS: volunteers the operator vouches for", () => {
  it("registers a volunteer with one of the keys as trusted on both classes of work from the start", async () => {
    const v = await vouched();
    expect(await profile(v)).toMatchObject({ id: v.id, vouched: true, trusted: true, trustedUncheckable: true, blacklisted: false, validated: 0 });
    const other = await vouched("key-two");
    expect(await profile(other)).toMatchObject({ vouched: true, trusted: true, trustedUncheckable: true });
  });

  it("leaves a volunteer registered without a key untrusted", async () => {
    const res = await register({});
    expect(res.status).toBe(201);
    const v = (await res.json()) as Volunteer & { vouched?: boolean };
    expect(v.vouched).toBeUndefined();
    expect(await profile(v)).toMatchObject({ vouched: false, trusted: false, trustedUncheckable: false });
  });

  it("refuses a wrong key with 403, and any key when VOLUNTEER_KEYS is not set", async () => {
    for (const key of ["key-three", "key-one ", "key", "key-one,key-two", "KEY-ONE"]) {
      const err = await expectError(register({ key }), 403);
      expect(err.message).toContain("key");
    }
    await expectError(register({ key: "key-one" }, { VOLUNTEER_KEYS: "" }), 403);
    await expectError(register({ key: "key-one" }, { VOLUNTEER_KEYS: undefined }), 403);
  });

  it("refuses a body with unknown fields, or a key that is not a non-empty string, with 400", async () => {
    for (const body of [{ key: "key-one", trusted: true }, { name: "x" }, { key: 1 }, { key: "" }, { key: null }]) {
      const err = await expectError(register(body), 400);
      expect(err.code).toBe("invalid_body");
    }
  });

  it("still applies the registration rate limit, wrong keys included", async () => {
    const limited = { VOLUNTEER_KEYS: KEYS, REGISTRATIONS_PER_MINUTE: "2" };
    const ip = "198.51.100.250";
    expect((await register({ key: "key-one" }, limited, ip)).status).toBe(201);
    await expectError(register({ key: "wrong" }, limited, ip), 403);
    const refused = await register({ key: "key-one" }, limited, ip);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    await expectError(refused, 429);
  });

  it("accepts a vouched volunteer's lone results on a published kernel, where a stranger's wait", async () => {
    const source = "export function compute(input) { return { value: input.n * 3 }; }";
    const kernel = await callJson<KernelManifest>("POST", "/v1/kernels", { token: ALICE, body: { name: "triple", language: "js", source, reduce: "sum" } });
    const job = await createJob({ kernel: kernel.body.id, shards: Array.from({ length: 40 }, (_, n) => ({ n })) });
    const v = await vouched();
    const leases = await leaseEventually(v, 40, 40);
    expect(leases).toHaveLength(40);
    const right = (l: Lease) => ({ value: (l.input as { n: number }).n * 3 });
    for (const l of leases) expect((await call("POST", `/v1/leases/${l.id}/result`, { token: v.token, body: { output: right(l) } })).status).toBe(202);
    // Some lone results of a trusted volunteer are audited with a second replica (AUDIT_RATE); most are accepted.
    expect((await status(job.id)).shards.done).toBeGreaterThan(20);
  });

  it("blacklists a vouched volunteer caught cheating: no longer trusted, refused work", async () => {
    const v = await vouched();
    const stub = env.VOLUNTEERS.get(env.VOLUNTEERS.idFromName(v.id)) as unknown as Pick<VolunteerObject, "blacklist">;
    await stub.blacklist(v.id, "failed a ringer");
    expect(await profile(v)).toMatchObject({ vouched: true, blacklisted: true, trusted: false, trustedUncheckable: false });
    const err = await expectError(call("POST", "/v1/leases", { token: v.token, body: { max: 1 } }), 403);
    expect(err.code).toBe("volunteer_blacklisted");
  });

  it("keeps the plain registration answering {id, token} to a volunteer without a key", async () => {
    const v = await volunteer();
    expect(Object.keys(v).sort()).toEqual(["id", "token"]);
  });
});

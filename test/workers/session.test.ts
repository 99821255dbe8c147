import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { gatewayStub } from "../../coordinator/gateway/gateways.ts";
import type { GatewayObject } from "../../coordinator/objects/gateway-object.ts";
import { SESSION_LIMITS, SESSION_PROTOCOL, sessionTokenProtocol, type SessionMessage, type SessionReply } from "../../shared/session.ts";
import { ALICE, call, callJson, honest, leaseEventually, primesJob, sleep, status, volunteer, type Volunteer } from "./helpers.ts";
import { openSession, TestSession, upgrade } from "./session-helpers.ts";

const open: TestSession[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function session(v: Volunteer): Promise<TestSession> {
  const s = await openSession(v.token);
  open.push(s);
  return s;
}

const errorOf = (r: SessionReply) => (r.body as { error: { code: string; message: string } }).error;
const gateway = (v: Volunteer) => gatewayStub(env, v.id) as unknown as DurableObjectStub<GatewayObject>;

describe("volunteer sessions (GET /v1/session)", () => {
  it("leases, heartbeats, releases and submits over one session until the job is done", async () => {
    const job = await primesJob(6, 1000);
    const v = await volunteer();
    const s = await session(v);
    const leases = await s.lease(6);
    expect(leases).toHaveLength(6);
    expect(leases[0]).toMatchObject({ jobId: job.id, kernel: "primes.count", expiresAt: expect.any(Number) });

    const hb = await s.request({ type: "heartbeat", leaseId: leases[0]!.id });
    expect(hb).toMatchObject({ type: "reply", status: 200, body: { expiresAt: expect.any(Number) } });
    const rel = await s.request({ type: "release", leaseId: leases[5]!.id });
    expect(rel).toMatchObject({ status: 200, body: { released: true } });

    const sent = await s.request({ type: "results", results: leases.slice(0, 5).map((l) => ({ leaseId: l.id, output: honest(l) })) });
    expect(sent.status).toBe(200);
    expect((sent.body as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    // The released shard comes back (dispatch skips a job that had nothing left for a moment).
    let again = await s.lease(1);
    for (let i = 0; !again.length && i < 40; i++) again = await new Promise((r) => setTimeout(r, 50)).then(() => s.lease(1));
    expect(again).toHaveLength(1);
    const last = await s.request({ type: "results", results: [{ leaseId: again[0]!.id, output: honest(again[0]!) }] });
    expect((last.body as { results: { status: number }[] }).results[0]!.status).toBe(202);
    expect((await status(job.id)).state).toBe("done");
  });

  it("answers other volunteers' leases 403, unknown ones 404, twice 409 and cancelled ones 410, like HTTP", async () => {
    const job = await primesJob(4, 1000);
    const [a, b] = [await volunteer(), await volunteer()];
    const [sa, sb] = [await session(a), await session(b)];
    const [mine, other] = await sa.lease(2);
    for (const type of ["heartbeat", "release"] as const) {
      const r = await sb.request({ type, leaseId: mine!.id });
      expect({ status: r.status, code: errorOf(r).code }).toEqual({ status: 403, code: expect.any(String) });
    }
    const theirs = await sb.request({ type: "results", results: [{ leaseId: mine!.id, output: honest(mine!) }] });
    expect((theirs.body as { results: { status: number }[] }).results[0]!.status).toBe(403);
    const unknown = await sa.request({ type: "heartbeat", leaseId: `${job.id}.3.AAAAAAAAAAAA` });
    expect(unknown.status).toBe(404);
    const malformed = await sa.request({ type: "release", leaseId: "nope" });
    expect({ status: malformed.status, code: errorOf(malformed).code }).toEqual({ status: 404, code: "lease_not_found" });

    const first = await sa.request({ type: "results", results: [{ leaseId: mine!.id, output: honest(mine!) }] });
    expect((first.body as { results: { status: number }[] }).results[0]!.status).toBe(202);
    const twice = await sa.request({ type: "results", results: [{ leaseId: mine!.id, output: honest(mine!) }] });
    expect((twice.body as { results: { status: number }[] }).results[0]!.status).toBe(409);
    const wrong = await sa.request({ type: "results", results: [{ leaseId: other!.id, output: { count: "many" } }] });
    expect((wrong.body as { results: { status: number }[] }).results[0]!.status).toBe(400);

    expect((await call("DELETE", `/v1/jobs/${job.id}`, { token: ALICE })).status).toBe(200);
    const gone = await sa.request({ type: "heartbeat", leaseId: other!.id });
    expect(gone.status).toBe(410);
  });

  it("refuses upgrades without a token, with a bad one, and plain GETs; a blacklisted volunteer's requests get 403", async () => {
    expect((await upgrade({})).status).toBe(401);
    expect((await upgrade({ authorization: "Bearer v1.v_00.bad" })).status).toBe(401);
    expect((await upgrade({ "sec-websocket-protocol": `${SESSION_PROTOCOL}, bearer.v1.v_00.bad` })).status).toBe(401);
    const v = await volunteer();
    const plain = await callJson("GET", "/v1/session", { token: v.token });
    expect({ status: plain.status, code: plain.body.error.code }).toEqual({ status: 426, code: "upgrade_required" });
    const caught = await volunteer();
    await (env.VOLUNTEERS.get(env.VOLUNTEERS.idFromName(caught.id)) as unknown as { blacklist(id: string, r: string): Promise<unknown> }).blacklist(
      caught.id,
      "test",
    );
    const s = await session(caught);
    const leased = s.request({ type: "lease", max: 1 });
    const submitted = s.request({ type: "results", results: [{ leaseId: "j_aaaaaaaaaaaa.1.AAAAAAAAAAAA", output: { count: 1 } }] });
    for (const r of [await leased, await submitted]) {
      expect({ status: r.status, code: errorOf(r).code }).toEqual({ status: 403, code: "volunteer_blacklisted" });
    }
  });

  it("takes the token as a subprotocol (browsers) and selects colmeia.v1", async () => {
    const v = await volunteer();
    const res = await upgrade({ "sec-websocket-protocol": `${SESSION_PROTOCOL}, ${sessionTokenProtocol(v.token)}` });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe(SESSION_PROTOCOL);
    const s = new TestSession(res.webSocket!);
    open.push(s);
    expect(await s.take((m): m is SessionMessage => m.type === "ready")).toEqual({ type: "ready", volunteer: v.id });
  });

  it("answers malformed, invalid, binary and oversized messages with the HTTP errors and changes nothing", async () => {
    const s = await session(await volunteer());
    s.ws.send("{not json");
    expect(await s.anonymousReply()).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    s.ws.send(new Uint8Array([1, 2, 3]));
    expect(await s.anonymousReply()).toMatchObject({ status: 400 });
    const badMax = await s.request({ type: "lease", max: 65 } as never);
    expect({ status: badMax.status, code: errorOf(badMax).code }).toEqual({ status: 400, code: "invalid_body" });
    expect(errorOf(badMax).message).toContain("max");
    const unknownType = await s.request({ type: "steal", leaseId: "x" } as never);
    expect(unknownType.status).toBe(400);
    const extra = await s.request({ type: "heartbeat", leaseId: "x", volunteer: "v_someone" } as never);
    expect(extra.status).toBe(400);
    // Too large to be read, but its id leads the message: the refusal names it.
    const big = await s.request({ type: "results", id: 9, results: [{ leaseId: "x", output: "y".repeat(SESSION_LIMITS.messageBytes) }] });
    expect(big).toMatchObject({ id: 9, status: 413, body: { error: { code: "body_too_large" } } });
    s.ws.send(JSON.stringify({ type: "results", results: [{ leaseId: "x", output: "y".repeat(SESSION_LIMITS.messageBytes) }] }));
    expect(await s.anonymousReply()).toMatchObject({ status: 413, body: { error: { code: "body_too_large" } } });
    expect(s.closed).toBeUndefined();
  });

  it("answers a flood 429 and then closes it (1008)", async () => {
    const s = await session(await volunteer());
    for (let i = 0; i < SESSION_LIMITS.messageBurst * 3; i++) s.ws.send("{}");
    const closed = await s.whenClosed();
    expect(closed.code).toBe(1008);
    const replies = s.received.filter((m) => m.type === "reply") as SessionReply[];
    expect(replies.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(SESSION_LIMITS.messageBurst);
    expect(replies.filter((r) => r.status === 429).length).toBeGreaterThan(0);
  });

  it("answers a message refused over the rate with its own id, so the client can match it", async () => {
    const s = await session(await volunteer());
    const n = SESSION_LIMITS.messageBurst + 10;
    for (let i = 0; i < n; i++) s.ws.send(JSON.stringify({ type: "heartbeat", id: i, leaseId: "nope" }));
    for (let waited = 0; s.received.filter((m) => m.type === "reply").length < n && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    const refused = (s.received.filter((m) => m.type === "reply") as SessionReply[]).filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.id).toEqual(expect.any(Number));
    expect(new Set(refused.map((r) => r.id)).size).toBe(refused.length);
  });

  it("bounds the sessions of one volunteer", async () => {
    const v = await volunteer();
    for (let i = 0; i < SESSION_LIMITS.sessionsPerVolunteer; i++) await session(v);
    const res = await upgrade({ authorization: `Bearer ${v.token}` });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("too_many_sessions");
    expect(await gateway(v).sessions(v.id)).toBe(SESSION_LIMITS.sessionsPerVolunteer);
  });

  it("pushes work to a waiting session as soon as a job starts, no polling", async () => {
    const v = await volunteer();
    const s = await session(v);
    expect(await s.lease(4, true)).toEqual([]);
    const before = await runInDurableObject(gateway(v), (o: GatewayObject) => ({ ...o.served }));
    const started = Date.now();
    const job = await primesJob(3, 1000);
    const work = await s.work();
    const ms = Date.now() - started;
    expect(work.leases).toHaveLength(3);
    expect(work.leases.every((l) => l.jobId === job.id)).toBe(true);
    expect(ms).toBeLessThan(1000);
    const after = await runInDurableObject(gateway(v), (o: GatewayObject) => ({ ...o.served }));
    expect(after.messages).toBe(before.messages); // the volunteer sent nothing meanwhile
    // The pushed leases are this volunteer's: its results count.
    const sent = await s.request({ type: "results", results: work.leases.map((l) => ({ leaseId: l.id, output: honest(l) })) });
    expect((sent.body as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([202, 202, 202]);
  });

  it("offers a waiting session a shard that came free (released) while the job runs", async () => {
    await primesJob(1, 1000);
    const [a, b] = [await volunteer(), await volunteer()];
    const [sa, sb] = [await session(a), await session(b)];
    const [held] = await sa.lease(1);
    expect(await sb.lease(1, true)).toEqual([]);
    expect((await sa.request({ type: "release", leaseId: held!.id })).status).toBe(200);
    const work = await sb.work(6000);
    expect(work.leases.map((l) => l.shardId)).toEqual([held!.shardId]);
  });

  it("gives back work pushed to a session that closes before saying a word after it, and keeps it once the session spoke", async () => {
    const [a, b, c] = [await volunteer(), await volunteer(), await volunteer()];
    const sa = await session(a);
    expect(await sa.lease(4, true)).toEqual([]);
    await primesJob(3, 1000, { leaseTtlMs: 600_000 });
    expect((await sa.work()).leases).toHaveLength(3);
    sa.close(); // a tab closing as the push arrives
    // Given back at the close, not ten minutes later when the leases would run out.
    const again = await leaseEventually(b, 3, 3, 5000);
    expect(again.map((l) => l.shardId).sort()).toEqual(["0", "1", "2"]);

    const sc = await session(c);
    expect(await sc.lease(4, true)).toEqual([]);
    await primesJob(2, 1000, { leaseTtlMs: 600_000 });
    const pushed = (await sc.work()).leases;
    expect(pushed).toHaveLength(2);
    expect((await sc.request({ type: "heartbeat", leaseId: pushed[0]!.id })).status).toBe(200);
    sc.close();
    for (const deadline = Date.now() + 5000; (await gateway(c).sessions(c.id)) > 0 && Date.now() < deadline; ) await sleep(20);
    expect(await gateway(c).sessions(c.id)).toBe(0);
    // It spoke after the push: the work is its own to finish (a dropped connection must not cost it).
    for (const l of pushed) expect((await call("POST", `/v1/leases/${l.id}/heartbeat`, { token: c.token })).status).toBe(200);
  });

  it("costs nothing while sessions wait and no job runs: no messages, no alarm", async () => {
    const v = await volunteer();
    const s = await session(v);
    expect(await s.lease(1, true)).toEqual([]);
    // A re-offer left by an earlier test's job (the isolate's running list is up to 1 s old) runs out first.
    await new Promise((r) => setTimeout(r, 1100));
    await runDurableObjectAlarm(gateway(v));
    const before = await runInDurableObject(gateway(v), (o: GatewayObject) => ({ ...o.served }));
    await new Promise((r) => setTimeout(r, 300));
    s.ws.send("ping"); // answered by the runtime, not the object
    expect(await s.take((m): m is SessionMessage => (m as { type: string }).type === "raw")).toEqual({ type: "raw", data: "pong" });
    const after = await runInDurableObject(gateway(v), async (o: GatewayObject, state) => ({ ...o.served, alarm: await state.storage.getAlarm() }));
    expect(after).toEqual({ ...before, alarm: null });
  });

  it("is described in /openapi.json: the path, the protocol, the message schemas and the limits", async () => {
    const doc = (await callJson("GET", "/openapi.json")).body;
    expect(doc.paths["/v1/session"].get).toBeDefined();
    expect(doc.info.description).toContain('{"type":"work","leases"');
    expect(doc["x-colmeia-session"]).toMatchObject({ protocol: SESSION_PROTOCOL, request: expect.any(Object), message: expect.any(Object) });
    expect(doc["x-colmeia-session"].limits).toEqual(SESSION_LIMITS);
  });

  it("finds the volunteer of a message after its gateway hibernated", async () => {
    await primesJob(2, 1000);
    const v = await volunteer();
    const s = await session(v);
    await evictDurableObject(gateway(v));
    const [l] = await s.lease(1);
    expect(l).toBeDefined();
    // The lease is this volunteer's: its own HTTP call may submit it.
    const res = await callJson("POST", `/v1/leases/${l!.id}/result`, { token: v.token, body: { output: honest(l!) } });
    expect(res.status).toBe(202);
  });
});

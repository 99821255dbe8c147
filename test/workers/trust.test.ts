import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { VolunteerObject } from "../../coordinator/objects/volunteer-object.ts";
import {
  ALICE,
  call,
  callJson,
  createJob,
  expectError,
  honest,
  isRinger,
  lease,
  leaseEventually,
  makeTrusted,
  observed,
  result,
  runVolunteers,
  shardList,
  sleep,
  status,
  submit,
  storedRows,
  submitAll,
  volunteer,
  volunteerRecord,
  type Volunteer,
} from "./helpers.ts";
import type { Lease } from "../../shared/schemas.ts";
import { SHARD } from "../../coordinator/job/tables.ts";
import { forgetStanding, MAX_ENTRIES, PROFILE_REUSE_MS, trustOf } from "../../coordinator/trust.ts";
import type { Profile } from "../../coordinator/objects/volunteer-object.ts";

const profile = async (v: Volunteer) => (await callJson("GET", "/v1/volunteers/me", { token: v.token })).body;
const adaptiveJob = (n: number, step = 1000) => createJob({ kernel: "primes.count", range: { start: 0, end: n * step, step } });
const wrong = (l: Lease) => ({ count: (honest(l) as { count: number }).count + 1 });

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** An env whose every volunteer's record is `record` (trust.ts's reads, counted or held by the test). */
const recordsAnsweredBy = (record: { profile(id: string): Promise<Profile> }) =>
  ({ VOLUNTEERS: { idFromName: (name: string) => name, get: () => record } }) as unknown as Env;

/**
 * Blacklists `v` as if caught in another job, and waits until the job it worked for has
 * backtracked it: that takes back the credit it earned there, in the same step that rejects its
 * outputs. (Its credit must have arrived first, or 0 would prove nothing.)
 */
async function caughtElsewhere(v: Volunteer): Promise<void> {
  await until("its credit arrives", async () => (await profile(v)).credit > 0);
  await volunteerRecord(v.id).blacklist(v.id, "test: caught elsewhere");
  await until("the job took its credit back", async () => (await profile(v)).credit === 0);
}

describe("adaptive trust policy", () => {
  it("gives a burst of new identities no trust, and never accepts a newcomer's lone result", async () => {
    const burst = await Promise.all(Array.from({ length: 25 }, volunteer));
    for (const p of await Promise.all(burst.map(profile))) expect(p).toMatchObject({ trusted: false, blacklisted: false });

    // One shard too big for the coordinator to compute itself: only a second volunteer can confirm it.
    const job = await adaptiveJob(1, 6_000_000);
    const [a, b] = burst;
    const [la] = await lease(a!, 1);
    expect((await submit(a!, la!.id, honest(la!))).status).toBe(202);
    expect((await status(job.id)).shards.done).toBe(0);
    const [lb] = await leaseEventually(b!, 1);
    expect(lb!.shardId).toBe(la!.shardId);
    expect((await submit(b!, lb!.id, honest(lb!))).status).toBe(202);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 1 } });
  });

  it("still audits trusted volunteers: some lone results get a second replica", async () => {
    const t = await volunteer();
    await makeTrusted(t);
    expect(await profile(t)).toMatchObject({ trusted: true });
    const job = await adaptiveJob(60);
    const leases = await leaseEventually(t, 60, 60);
    await submitAll(
      t,
      leases.filter((l) => l.jobId === job.id),
    );
    // Storage, because the API cannot tell an audit from a lone acceptance: an audit of a checkable
    // shard is settled by the coordinator computing it (verified), and shows as just a done shard.
    const rows = await storedRows<{ need: number; state: number; verified: number }>(job.id, "shards");
    const alone = rows.filter((r) => r.state === SHARD.accepted && r.need === 1).length;
    const audited = rows.filter((r) => r.need === 2 && (r.state === SHARD.open || r.verified === 1)).length;
    expect(alone).toBeGreaterThan(0);
    expect(audited).toBeGreaterThan(0);
    expect(alone + audited).toBe(rows.length);
  });

  it("makes ringers indistinguishable from real work in the lease payload", async () => {
    const job = await adaptiveJob(400, 100);
    const [h1, h2] = [await volunteer(), await volunteer()];
    // Honest work first, so the coordinator has verified shards to use as ringers.
    for (let i = 0; i < 4; i++) {
      await submitAll(h1, await lease(h1, 4));
      await submitAll(h2, await leaseEventually(h2, 4, 4));
    }
    const newcomer = await volunteer();
    const seen: Lease[] = [];
    for (let i = 0; i < 6; i++) seen.push(...(await lease(newcomer, 64)));
    // Only storage knows which leases were ringers: that nothing in a lease says so is the point.
    const flags = await Promise.all(seen.map(isRinger));
    const ringers = seen.filter((_, i) => flags[i]);
    const real = seen.filter((_, i) => !flags[i]);
    expect(ringers.length).toBeGreaterThan(0);
    const shape = (l: Lease) => ({
      keys: Object.keys(l).join(","),
      id: l.id.replace(/[A-Za-z0-9_-]{12}$/, "N").replace(/\.\d+\./, ".I."),
      jobId: l.jobId,
      kernel: l.kernel,
      params: JSON.stringify(l.params),
      inputKeys: Object.keys(l.input as object).join(","),
      shardId: /^\d+$/.test(l.shardId),
      ttl: l.expiresAt - Date.now() > 50_000,
    });
    const realShapes = new Set(real.map((l) => JSON.stringify(shape(l))));
    for (const r of ringers) expect(realShapes.has(JSON.stringify(shape(r)))).toBe(true);
    expect(job.id).toBe(ringers[0]!.jobId);
  });

  it("blacklists a saboteur caught by a ringer and corrects a job already merged on its word", { timeout: 60_000 }, async () => {
    const [s1, s2] = [await volunteer(), await volunteer()];
    // A fixed 2-of-2 job that two colluders complete with the same wrong answers.
    const merged = await createJob({ kernel: "primes.count", range: { start: 0, end: 20_000, step: 1000 }, replication: { replicas: 2, quorum: 2 } });
    while ((await status(merged.id)).state === "running") {
      for (const s of [s1!, s2!]) {
        const ls = await lease(s, 4);
        if (ls.length) {
          const res = await callJson("POST", "/v1/results", { token: s.token, body: { results: ls.map((l) => ({ leaseId: l.id, output: wrong(l) })) } });
          expect(res.status).toBe(200);
        }
      }
      await sleep(20);
    }
    expect(await result(merged.id)).toEqual({ count: 2262 + 20 });

    // An adaptive job: honest volunteers give it verified shards, then s1 meets a ringer and lies.
    const spot = await adaptiveJob(300, 100);
    const [h1, h2] = [await volunteer(), await volunteer()];
    for (let i = 0; i < 3; i++) {
      await submitAll(h1, await lease(h1, 4));
      await submitAll(h2, await leaseEventually(h2, 4, 4));
    }
    let caught = false;
    for (let i = 0; i < 200 && !caught; i++) {
      const [l] = await lease(s1!, 1);
      if (!l) break;
      caught = await isRinger(l); // a saboteur that lies only on ringers, so its first lie is caught
      expect((await submit(s1!, l.id, caught ? wrong(l) : honest(l))).status).toBe(202);
    }
    expect(caught).toBe(true);

    await until("the merged job reopens", async () => (await status(merged.id)).state === "running");
    // The reopened job knows it at once: no lease, or already the grid-wide 403.
    const again = await callJson<{ leases?: unknown[] }>("POST", "/v1/leases", { token: s1!.token, body: { max: 4 } });
    if (again.status === 200) expect(again.body.leases).toEqual([]);
    else expect(again.status).toBe(403);
    await until("its record says blacklisted", async () => (await profile(s1!)).blacklisted === true);
    // At once: its record told its gateway, which dropped the profile it kept.
    expect((await expectError(call("POST", "/v1/leases", { token: s1!.token, body: {} }), 403)).code).toBe("volunteer_blacklisted");
    expect(await profile(s1!)).toMatchObject({ blacklisted: true, trusted: false });
    await until("its grid-wide credit is taken back", async () => (await profile(s1!)).credit === 0);

    await call("DELETE", `/v1/jobs/${spot.id}`, { token: ALICE });
    const final = await runVolunteers(merged.id, 3, 4);
    expect(final.state).toBe("done");
    expect(await result(merged.id)).toEqual({ count: 2262 });
  });

  it("keeps shards the coordinator verified itself when the volunteer that computed them is caught", { timeout: 30_000 }, async () => {
    const job = await adaptiveJob(50, 100);
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = await lease(a, 1);
    await submitAll(a, [la!]);
    // A newcomer's lone result on a cheap shard: the coordinator confirmed it by computing it.
    expect(await status(job.id)).toMatchObject({ shards: { done: 1 }, work: { checks: 1 } });
    const accepted = [{ shard: la!.shardId, state: "accepted", output: honest(la!) }];
    expect(await shardList(job.id)).toEqual(accepted);

    await caughtElsewhere(a);
    expect(await shardList(job.id)).toEqual(accepted);
    expect((await status(job.id)).shards.done).toBe(1);
    expect(await profile(b)).toMatchObject({ blacklisted: false });
  });

  it("keeps right answers a caught volunteer gave alone, outputs and merged result intact", { timeout: 30_000 }, async () => {
    const t = await volunteer();
    await makeTrusted(t);
    const job = await adaptiveJob(30, 1000);
    await submitAll(t, await leaseEventually(t, 30, 30));
    const h = await volunteer(); // finishes the shards picked for audit
    await submitAll(h, await leaseEventually(h, 1, 30));
    await until("the job is done", async () => (await status(job.id)).state === "done");
    const before = await result(job.id);

    await caughtElsewhere(t);
    expect(await status(job.id)).toMatchObject({ state: "done", shards: { done: 30 } });
    const shards = await shardList(job.id);
    expect(shards).toHaveLength(30);
    expect(shards.every((s) => s.state === "accepted" && s.output !== undefined)).toBe(true);
    expect(await result(job.id)).toEqual(before);
    expect(before).toEqual({ count: 3245 }); // primes below 30,000
  });
  it("records a catch in the same step that rejects the output, then blacklists until acknowledged", async () => {
    const job = await adaptiveJob(2, 100);
    const liar = await volunteer();
    const [l] = await lease(liar, 1);
    expect((await submit(liar, l!.id, wrong(l!))).status).toBe(202);
    // Storage is the behaviour: durable in the step that rejected the output, before anything else
    // happens (banned here, the catch queued for delivery from the alarm, which may run at once).
    expect(await storedRows(job.id, "banned")).toEqual([{ volunteer: liar.id }]);
    await until("the volunteer's own record blacklists it", async () => (await profile(liar)).blacklisted === true);
    await until("the catch is acknowledged", async () => (await storedRows(job.id, "catches")).length === 0);
    // Its gateway dropped the profile it held when the record blacklisted it (standingChanged): refused.
    await until("leasing answers 403", async () => (await call("POST", "/v1/leases", { token: liar.token, body: { max: 1 } })).status === 403);
  });
  it("refuses a caught volunteer at the edge as soon as a job answers it volunteer_blacklisted, not when its cached profile lapses", async () => {
    const job = await adaptiveJob(3, 100);
    const liar = await volunteer();
    // Two leases of this job (a job an earlier case left running may be offered first).
    const mine: Lease[] = [];
    for (let i = 0; i < 20 && mine.length < 2; i++) mine.push(...(await lease(liar, 2)).filter((l) => l.jobId === job.id));
    const [l1, l2] = mine;
    expect((await submit(liar, l1!.id, wrong(l1!))).status).toBe(202);
    await until("the volunteer's own record blacklists it", async () => (await profile(liar)).blacklisted === true);
    // This isolate still holds the profile its lease read; the job that banned it says so...
    expect((await expectError(submit(liar, l2!.id, honest(l2!)), 403)).code).toBe("volunteer_blacklisted");
    // ...and the profile is dropped: the next lease reads the record and is refused, with no wait.
    expect((await expectError(call("POST", "/v1/leases", { token: liar.token, body: { max: 1 } }), 403)).message).toMatch(/proven wrong/);
  });
  it("upgrades a record made before the uncheckable counters and vouching existed, keeping what it held", async () => {
    const id = `v_old_${crypto.randomUUID()}`;
    // A fresh stub per use: the one that saw the restart stays broken.
    const record = () => volunteerRecord(id);
    // The record as the first version wrote it: no validated_u, ringers_u or vouched columns.
    await runInDurableObject(record(), (o: VolunteerObject) => {
      o.sql.exec("DROP TABLE rep");
      o.sql.exec(
        "CREATE TABLE rep (k INTEGER PRIMARY KEY CHECK (k = 0), id TEXT NOT NULL, validated INTEGER NOT NULL, ringers INTEGER NOT NULL, blacklisted INTEGER NOT NULL, reason TEXT)",
      );
      o.sql.exec("INSERT INTO rep (k, id, validated, ringers, blacklisted) VALUES (0, ?, 7, 2, 0)", id);
    });
    await runInDurableObject(record(), (_: VolunteerObject, state) => state.abort("restart as the current version")).catch(() => {});
    expect(await record().profile(id)).toMatchObject({
      id,
      validated: 7,
      ringersPassed: 2,
      uncheckable: { validated: 0, ringersPassed: 0 },
      vouched: false,
      blacklisted: false,
    });
    const columns = await runInDurableObject(record(), (o: VolunteerObject) =>
      o.sql
        .exec<{ name: string }>("PRAGMA table_info(rep)")
        .toArray()
        .map((c) => c.name),
    );
    expect(columns).toEqual(expect.arrayContaining(["validated", "ringers", "validated_u", "ringers_u", "vouched"]));
  });
  it("keeps at most MAX_ENTRIES profiles, dropping the oldest tenth when full rather than every copy", async () => {
    let reads = 0;
    const record = { profile: (id: string) => (reads++, Promise.resolve({ id, blacklisted: false } as unknown as Profile)) };
    const recordEnv = recordsAnsweredBy(record);
    const run = crypto.randomUUID();
    const ids = Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => `v_cap_${run}_${i}`);
    for (const id of ids) await trustOf(recordEnv, id);
    expect(reads).toBe(MAX_ENTRIES + 1);
    // Full at the last one: the oldest tenth went, everything newer is still kept.
    reads = 0;
    for (const id of ids.slice(MAX_ENTRIES / 10)) await trustOf(recordEnv, id);
    expect(reads).toBe(0);
    for (const id of ids.slice(0, MAX_ENTRIES / 10)) await trustOf(recordEnv, id);
    expect(reads).toBe(MAX_ENTRIES / 10);
  });
  it("tells the gateway again from the record's alarm when telling it of a change of standing failed", async () => {
    const v = await volunteer();
    const record = volunteerRecord(v.id);
    // The record's gateway binding as this test sets it: refusing every call, or reaching the real
    // gateway and noting the volunteer it was told about.
    const told: string[] = [];
    const gateways = (reachable: boolean) => ({
      idFromName: (name: string) => env.GATEWAYS.idFromName(name),
      get: (id: DurableObjectId) => ({
        standingChanged: async (volunteer: string) => {
          if (!reachable) throw new Error("gateway unreachable");
          told.push(volunteer);
          await (env.GATEWAYS.get(id) as unknown as { standingChanged(v: string): Promise<void> }).standingChanged(volunteer);
        },
      }),
    });
    const withGateways = (reachable: boolean) =>
      runInDurableObject(
        record,
        (o: VolunteerObject) => void ((o as unknown as { env: Env }).env = { ...env, GATEWAYS: gateways(reachable) } as unknown as Env),
      );
    const alarmAt = () => runInDurableObject(record, (o: VolunteerObject) => (o as unknown as { ctx: DurableObjectState }).ctx.storage.getAlarm());
    try {
      await withGateways(false);
      await record.vouch(v.id); // trusted now: its gateway must drop the copy it keeps
      expect(told).toEqual([]);
      expect(await alarmAt()).not.toBeNull(); // stored before the call returned: eviction does not lose it
      await withGateways(true);
      expect(await runDurableObjectAlarm(record)).toBe(true);
      expect(told).toEqual([v.id]);
      expect(await alarmAt()).toBeNull();
      await record.vouch(v.id); // no change of standing: nothing to tell, no alarm
      expect(told).toEqual([v.id]);
      expect(await alarmAt()).toBeNull();
    } finally {
      await runInDurableObject(record, (o: VolunteerObject) => void ((o as unknown as { env: Env }).env = env));
    }
  });
  it("reuses each profile from half of PROFILE_REUSE_MS to all of it, so copies made together are not read again together", async () => {
    const reads = new Map<string, number>();
    const record = {
      profile: (id: string) => (reads.set(id, (reads.get(id) ?? 0) + 1), Promise.resolve({ id, blacklisted: false } as unknown as Profile)),
    };
    const recordEnv = recordsAnsweredBy(record);
    const ids = Array.from({ length: 40 }, () => `v_spread_${crypto.randomUUID()}`);
    const t0 = Date.now();
    const at = async (ms: number) => {
      const now = vi.spyOn(Date, "now").mockReturnValue(t0 + ms);
      try {
        for (const id of ids) await trustOf(recordEnv, id);
      } finally {
        now.mockRestore();
      }
      return [...reads.values()].reduce((a, b) => a + b, 0);
    };
    expect(await at(0)).toBe(40);
    expect(await at(PROFILE_REUSE_MS / 2 - 1)).toBe(40); // none lapses before half the time
    const readAgain = (await at(PROFILE_REUSE_MS * 0.75)) - 40;
    expect(readAgain).toBeGreaterThan(0); // some lapsed by three quarters of it...
    expect(readAgain).toBeLessThan(40); // ...and some did not: the copies expire apart
    expect(await at(PROFILE_REUSE_MS + 1)).toBe(80); // by then every first copy lapsed, and no second one
    expect([...reads.values()].every((n) => n === 2)).toBe(true);
  });
  it("does not cache a standing read that left before a job dropped it (a blacklisting it could not see)", async () => {
    // The volunteer's record, answering when told to: a read can be overtaken by forgetStanding.
    let answer: (p: Profile) => void = () => {};
    let reads = 0;
    const record = { profile: () => (reads++, new Promise<Profile>((r) => (answer = r))) };
    const recordEnv = recordsAnsweredBy(record);
    const id = `v_stale_${crypto.randomUUID()}`;
    const base = {
      id,
      vouched: false,
      validated: 0,
      ringersPassed: 0,
      uncheckable: { validated: 0, ringersPassed: 0 },
      trusted: false,
      trustedUncheckable: false,
    };

    const first = trustOf(recordEnv, id);
    forgetStanding(id); // a job answered volunteer_blacklisted while the read was on its way
    answer({ ...base, blacklisted: false });
    expect((await first).blacklisted).toBe(false); // this call uses what it read...
    const second = trustOf(recordEnv, id); // ...but the next one reads the record again
    answer({ ...base, blacklisted: true, reason: "caught" });
    await expect(second).rejects.toMatchObject({ code: "volunteer_blacklisted" });
    expect(reads).toBe(2);
  });
  it("keeps reputation observations in the job's storage until the volunteer's record has them", async () => {
    const job = await adaptiveJob(1, 6_000_000);
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = await lease(a, 1);
    await submitAll(a, [la!]);
    const [lb] = await leaseEventually(b, 1);
    await submitAll(b, [lb!]);
    // Storage is the behaviour: written in the step that accepted the shard, before any alarm ran,
    // and kept until the records acknowledge them.
    const queued = await storedRows<{ volunteer: string; obs: string }>(job.id, "rep_outbox");
    expect(queued.map((q) => q.volunteer).sort()).toEqual([a.id, b.id].sort());
    expect(queued.map((q) => JSON.parse(q.obs))).toEqual([
      { uncheckable: true, agreed: 1 },
      { uncheckable: true, agreed: 1 },
    ]);
    await until("the records took them", async () => (await storedRows(job.id, "rep_outbox")).length === 0);
    expect((await profile(a)).uncheckable).toEqual({ validated: 1, ringersPassed: 0 });
  });
  it("sees a newcomer that earned trust as trusted on its very next lease, and one that lost it as a stranger", async () => {
    // A stale "trusted on nothing" is not the safe side for leases: it keeps a volunteer that just
    // earned trust from confirming strangers' results, which then go to other strangers. Its
    // gateway keeps its profile for minutes (PROFILE_REUSE_MS); the record tells the gateway when it changes.
    const job = await adaptiveJob(40, 100);
    const v = await volunteer();
    const need = async (l: Lease) => (await storedRows<{ idx: number; need: number }>(job.id, "shards")).find((s) => s.idx === Number(l.shardId))!.need;
    const [first] = await lease(v, 1); // its profile, trusted on nothing, is now kept by its gateway
    await makeTrusted(v);
    const [second] = await leaseEventually(v, 1);
    // A stranger's fresh shard needs two agreeing outputs; a trusted volunteer's, its one.
    expect(await need(first!)).toBe(2);
    expect(await need(second!)).toBe(1);
    // Outvoted: its record in this class starts over, and its next lease is a stranger's again.
    await observed(v, { outvoted: 1 });
    expect((await profile(v)).trusted).toBe(false);
    const [third] = await leaseEventually(v, 1);
    expect(await need(third!)).toBe(2);
  });

  it("earns no trust for outputs a job accepted on the volunteer's word alone", async () => {
    // A quorum-1 job takes any well-formed output: if that counted, a saboteur could farm a
    // validated record with garbage, then pass one spot-check and have its lone results trusted.
    const fixed = (replicas: number) =>
      createJob({ kernel: "primes.count", range: { start: 0, end: 6000, step: 1000 }, replication: { replicas, quorum: replicas } });
    const lone = await fixed(1);
    const m = await volunteer();
    const leases = await leaseEventually(m, 6, 6);
    for (const l of leases) expect((await submit(m, l.id, wrong(l))).status).toBe(202);
    expect(await status(lone.id)).toMatchObject({ state: "done", shards: { done: 6 } });
    expect(await storedRows(lone.id, "rep_outbox")).toEqual([]);

    // Outputs confirmed by an independent volunteer still count, for both of them.
    const voted = await fixed(2);
    const [a, b] = [await volunteer(), await volunteer()];
    const [la] = await lease(a, 1);
    const [lb] = await leaseEventually(b, 1);
    expect(lb!.shardId).toBe(la!.shardId);
    await submitAll(a, [la!]);
    await submitAll(b, [lb!]);
    await until("both records count the agreement", async () => (await profile(a)).validated === 1 && (await profile(b)).validated === 1);
    expect((await status(voted.id)).shards.done).toBe(1);
    expect((await profile(m)).validated).toBe(0);
  });

  it("keeps grid statistics in the job's storage until the grid acknowledged them", async () => {
    // Three shards, two done: the job runs on, so its figures wait for the next once-a-second batch
    // (a job's end sends them at once).
    const job = await createJob({ kernel: "primes.count", range: { start: 0, end: 300, step: 100 }, replication: { replicas: 1, quorum: 1 } });
    const v = await volunteer();
    await submitAll(v, await lease(v, 2));
    // Storage is the behaviour: the figures are durable in the job until the grid acknowledges them.
    const pending = await storedRows<{ k: string; delta: string }>(job.id, "stats_outbox");
    expect(pending).toHaveLength(1);
    expect(JSON.parse(pending[0]!.delta)).toMatchObject({ shardsCompleted: 2, resultsAccepted: 2 });
    expect(await storedRows(job.id, "stats_credit")).toEqual([{ k: "pending", volunteer: v.id, credit: 2 }]);
    await until("the grid took them", async () => (await storedRows(job.id, "stats_outbox")).length === 0);
    expect(await storedRows(job.id, "stats_credit")).toEqual([]);
  });
});

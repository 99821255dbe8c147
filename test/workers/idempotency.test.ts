import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { IDEMPOTENCY, type SubmitterObject } from "../../coordinator/objects/submitter-object.ts";
import { newJobId } from "../../coordinator/ids.ts";
import { canonicalJson, sha256Hex } from "../../shared/canonical.ts";
import type { JobStatus } from "../../shared/schemas.ts";
import { ALICE, BOB, call, callJson, expectError, inSubmitter } from "./helpers.ts";

const job = (end = 10_000) => ({ kernel: "primes.count", range: { start: 0, end, step: 1000 }, replication: { replicas: 1, quorum: 1 } });
const post = (body: unknown, key?: string, token = ALICE) =>
  callJson<JobStatus>("POST", "/v1/jobs", { token, body, headers: key === undefined ? {} : { "idempotency-key": key } });
let n = 0;
/** A key no other test uses. */
const freshKey = () => `key-${Date.now()}-${++n}`;

const made: { id: string; token: string }[] = [];
afterEach(async () => {
  for (const { id, token } of made.splice(0)) await call("DELETE", `/v1/jobs/${id}`, { token });
});
/** Job ids this token lists now. */
async function listed(token = ALICE): Promise<string[]> {
  const ids = (await callJson<{ jobs: JobStatus[] }>("GET", "/v1/jobs?limit=500", { token })).body.jobs.map((j) => j.id);
  made.push(...ids.map((id) => ({ id, token })));
  return ids;
}

describe("Idempotency-Key on POST /v1/jobs", () => {
  it("answers a repeated request with the same job, 201 again and marked as a replay", async () => {
    const key = freshKey();
    const before = await listed();
    const first = await post(job(), key);
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await post(job(), key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toMatchObject({ id: first.body.id, state: "running", shards: { total: 10 } });
    expect((await listed()).filter((id) => !before.includes(id))).toEqual([first.body.id]);
  });

  it("treats the same body with other key order and spacing as the same request", async () => {
    const key = freshKey();
    const first = await post(job(), key);
    const raw = `{ "replication": {"quorum": 1, "replicas": 1},\n "range": {"step": 1000, "end": 10000, "start": 0}, "kernel": "primes.count" }`;
    const again = await post(raw, key);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.id).toBe(first.body.id);
  });

  it("replays with the job's current status", async () => {
    const key = freshKey();
    const first = await post(job(), key);
    expect((await call("DELETE", `/v1/jobs/${first.body.id}`, { token: ALICE })).status).toBe(200);
    const again = await post(job(), key);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, state: "cancelled" });
  });

  it("refuses the same key with a different body: 409 idempotency_conflict naming the header, no job made", async () => {
    const key = freshKey();
    const first = await post(job(), key);
    const before = await listed();
    const res = await call("POST", "/v1/jobs", { token: ALICE, body: job(20_000), headers: { "idempotency-key": key } });
    const err = await expectError(res, 409);
    expect(err.code).toBe("idempotency_conflict");
    expect(err.message).toContain("Idempotency-Key");
    expect(await listed()).toEqual(before);
    expect((await post(job(), key)).body.id).toBe(first.body.id);
  });

  it("keeps keys per submitter token", async () => {
    const key = freshKey();
    const alice = await post(job(), key);
    const bob = await post(job(), key, BOB);
    expect(bob.status).toBe(201);
    expect(bob.headers.get("idempotent-replayed")).toBeNull();
    expect(bob.body.id).not.toBe(alice.body.id);
    await listed(BOB);
    expect((await post(job(), key)).body.id).toBe(alice.body.id);
    expect((await post(job(), key, BOB)).body.id).toBe(bob.body.id);
  });

  it.each([
    ["empty", ""],
    ["256 characters", "k".repeat(256)],
    ["a control character", "a\tb"],
    ["non-ASCII", "clé"],
  ])("refuses a key that is %s with 400, making no job", async (_, key) => {
    const before = await listed();
    const headers = new Headers({ authorization: `Bearer ${ALICE}`, "content-type": "application/json" });
    // Headers hold byte strings: non-ASCII goes in as its UTF-8 bytes, as a client would send it.
    headers.set("idempotency-key", String.fromCharCode(...new TextEncoder().encode(key)));
    const res = await exports.default.fetch("http://x/v1/jobs", { method: "POST", headers, body: JSON.stringify(job()) });
    const err = await expectError(res, 400);
    expect(err.message).toContain("Idempotency-Key");
    expect(await listed()).toEqual(before);
  });

  it("accepts a key of 255 printable characters, spaces included", async () => {
    const key = `${freshKey()} ~!`.padEnd(255, "x");
    expect((await post(job(), key)).status).toBe(201);
    expect((await post(job(), key)).headers.get("idempotent-replayed")).toBe("true");
  });

  it("remembers nothing for a request refused as invalid", async () => {
    const key = freshKey();
    await expectError(call("POST", "/v1/jobs", { token: ALICE, body: { kernel: "primes.count" }, headers: { "idempotency-key": key } }), 400);
    const res = await post(job(), key);
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
  });

  it("creates one job from concurrent duplicates; the others replay it or are told it is in progress", async () => {
    const key = freshKey();
    const before = await listed();
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(job(), key)));
    for (const a of answers) {
      if (a.status === 409) expect(a.body).toMatchObject({ error: { code: "idempotency_in_progress" } });
      else expect(a.status).toBe(201);
    }
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect((await listed()).filter((id) => !before.includes(id))).toEqual([...ids]);
  });

  it("answers 409 with retry-after while the key's first request is still being handled", async () => {
    const key = freshKey();
    const sha = await sha256Hex(canonicalJson(job()));
    await inSubmitter(ALICE, (o) => o.claimKey(key, sha, "j_aaaaaaaaaaaaaaaa", Date.now()));
    const res = await call("POST", "/v1/jobs", { token: ALICE, body: job(), headers: { "idempotency-key": key } });
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await expectError(res, 409)).code).toBe("idempotency_in_progress");
  });

  it("resumes a creation that died after reserving the key, under the job id it reserved", async () => {
    const key = freshKey();
    const sha = await sha256Hex(canonicalJson(job()));
    const reserved = newJobId();
    await inSubmitter(ALICE, (o) => o.claimKey(key, sha, reserved, Date.now() - IDEMPOTENCY.staleMs - 1));
    const res = await post(job(), key);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.id).toBe(reserved);
    expect(await listed()).toContain(reserved);
    expect((await post(job(), key)).body.id).toBe(reserved);
  });

  it("forgets a key after 24 hours: the same key then makes a new job", async () => {
    const key = freshKey();
    const first = await post(job(), key);
    expect((await post(job(20_000), key)).status).toBe(409);
    await inSubmitter(ALICE, (o) => void o.sql.exec("UPDATE idempotency SET created_at = created_at - ? WHERE key = ?", IDEMPOTENCY.ttlMs, key));
    const later = await post(job(20_000), key);
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    await listed();
  });

  it("purges keys older than 24 hours and keeps at most maxKeys per submitter", async () => {
    const count = (o: SubmitterObject) => o.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency").one().n;
    const now = Date.now();
    await inSubmitter(BOB, async (o) => {
      await o.claimKey("old", "x", "j_oooooooooooooooo", now - IDEMPOTENCY.ttlMs - 1);
      await o.claimKey("fresh", "x", "j_ffffffffffffffff", now);
      expect(o.sql.exec("SELECT key FROM idempotency WHERE key = 'old'").toArray()).toEqual([]);
      for (let i = 0; i < IDEMPOTENCY.maxKeys + 5; i++) await o.claimKey(`k${i}`, "x", `j_${String(i).padStart(16, "0")}`, now + 1 + i);
      expect(count(o)).toBe(IDEMPOTENCY.maxKeys);
      expect(o.sql.exec("SELECT key FROM idempotency WHERE key = 'fresh'").toArray()).toEqual([]);
      expect(await o.claimKey(`k${IDEMPOTENCY.maxKeys + 4}`, "y", "j_zzzzzzzzzzzzzzzz", now + IDEMPOTENCY.maxKeys + 10)).toEqual({ kind: "conflict" });
    });
  });
});

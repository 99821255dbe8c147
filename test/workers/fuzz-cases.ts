import type { prng } from "./helpers.ts";

/** One malformed request. `body` is sent byte-for-byte; `type` overrides the JSON content type. */
export interface FuzzCase {
  method: string;
  path: string;
  auth?: string;
  body?: string | ReadableStream<Uint8Array>;
  type?: string | null;
}
type Rng = ReturnType<typeof prng>;
/** What the cases may refer to: real ids and tokens, so bad input meets real state. */
export interface FuzzWorld {
  jobId: string;
  lease: string;
  volunteer: string;
  otherVolunteer: string;
}

const MiB = 1024 * 1024;
/** Values no numeric field accepts: wrong types, NaN-like strings, fractions, out of range. */
export const BAD_NUMBERS = ["-1", "-0.5", "1.5", '"5"', '"NaN"', '"Infinity"', '"-Infinity"', '"1e3"', '"0x10"', "null", "true", "[]", "{}", "1e400", "-1e400"];
const BAD_JSON = ["{", "}", "[", '{"a":}', "{'a':1}", "{a:1}", '{"a":1,}', '{"a":1} x', "NaN", "undefined", '"unterminated', "\u0000", '{"a":"\\u12"}', "[1,2"];
const NOT_OBJECTS = ["[]", "[{}]", '"text"', "42", "null", "true"];
const GARBAGE_IDS = [
  "x",
  "j_",
  "j_AAAAAAAAAAAAAAAA",
  "j_aaaaaaaaaaaaaaa",
  "j_aaaaaaaaaaaaaaaaa",
  "%00",
  "..%2f..%2fetc",
  "j_aaaaaaaaaaaaaaaa%20",
  "j_%E2%98%83aaaaaaaaaaaaaa",
  "a".repeat(3000),
  "j_aaaaaaaaaaaaaaaa.0.AAAAAAAAAAAA",
  "-1",
  "NaN",
];
const BAD_TOKENS = [
  "",
  "Bearer",
  "Bearer ",
  "Basic dG9rLWFsaWNlOg==",
  "bearer tok-alice x",
  "Bearer tok-alice,tok-bob",
  "Bearer v1.x.y",
  "Bearer v1..",
  "Bearer v2.v_00.abc",
  `Bearer ${"z".repeat(10_000)}`,
  "Bearer tok-mallory",
];

const raw = (v: unknown) => JSON.stringify(v);
/** Replaces the JSON text `"@"` in `template` with `value` (raw JSON text). */
const fill = (template: unknown, value: string) => raw(template).replace('"@"', value);
const big = (bytes: number, head = '{"pad":"') => `${head + "x".repeat(bytes)}"}`;
/** A body streamed without content-length, so the size cap must count bytes as they come. */
const chunked = (bytes: number) => {
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= bytes) return c.close();
      c.enqueue(chunk);
      sent += chunk.length;
    },
  });
};

const RANGE = { kernel: "primes.count", range: { start: 0, end: 1000, step: 100 }, replication: { replicas: 2, quorum: 2 } };

/** Job-creation bodies that must all be refused (each is invalid for a reason the contract names). */
function badJobBody(r: Rng): string {
  const n = () => r.pick(BAD_NUMBERS);
  const choices: (() => string)[] = [
    () => fill({ ...RANGE, kernel: "@" }, r.pick(['"nope"', '""', "1", "null", '["primes.count"]', raw("k".repeat(101)), '"PRIMES.COUNT"'])),
    () => fill({ ...RANGE, range: { start: "@", end: 1000, step: 100 } }, n()),
    () => fill({ ...RANGE, range: { start: 0, end: "@", step: 100 } }, r.pick([...BAD_NUMBERS, "1e300", String(2 ** 53 + 2)])),
    () => fill({ ...RANGE, range: { start: 0, end: 1000, step: "@" } }, r.pick([...BAD_NUMBERS, "0"])),
    () => raw({ ...RANGE, range: { start: 500 + r.int(500), end: r.int(500), step: 1 } }),
    () => raw({ ...RANGE, range: { start: 0, end: 1000, step: 100, extra: 1 } }),
    () => raw({ ...RANGE, range: { start: 0, end: 2 ** 40, step: 1 } }),
    () => raw({ kernel: "primes.count" }),
    () => raw({ ...RANGE, shards: [{ start: 0, end: 10 }] }),
    () => raw({ kernel: "primes.count", shards: [] }),
    () =>
      fill({ kernel: "primes.count", shards: ["@"] }, r.pick(['{"start":0}', '{"start":0,"end":5,"x":1}', '{"start":5,"end":1}', "null", "[0,5]", '"0-5"'])),
    () => fill({ kernel: "wordcount", shards: ["@"] }, r.pick(['{"text":5}', "{}", '{"text":"a","x":1}', "null", '"text"', '{"text":["a"]}'])),
    () => raw({ kernel: "wordcount", range: { start: 0, end: 10, step: 1 } }),
    () => fill({ kernel: "wordcount", shards: "@" }, r.pick(['"abc"', '{"0":{"text":"a"}}', "3", "null"])),
    () =>
      fill(
        { ...RANGE, replication: "@" },
        r.pick([
          "[]",
          "null",
          "2",
          '{"replicas":0,"quorum":1}',
          '{"replicas":17,"quorum":1}',
          '{"replicas":2,"quorum":3}',
          '{"replicas":3,"quorum":2,"maxReplicas":2}',
          '{"replicas":"2","quorum":2}',
          '{"replicas":2,"quorum":2,"x":1}',
          '{"replicas":2}',
        ]),
      ),
    () => fill({ ...RANGE, replication: { replicas: "@", quorum: 1 } }, n()),
    () => fill({ ...RANGE, leaseTtlMs: "@" }, r.pick([...BAD_NUMBERS, "999", "86400001", "1e20", "0"])),
    () => fill({ ...RANGE, label: "@" }, r.pick([raw("l".repeat(201)), "5", "null", "[]"])),
    () =>
      fill(
        { ...RANGE, notify: "@" },
        r.pick(['{"url":"ftp://x.test"}', '{"url":"not a url"}', '{"url":"https://x.test","x":1}', '"https://x.test"', "{}", "null"]),
      ),
    () => fill({ ...RANGE, params: "@" }, r.pick(['{"x":1}', "[]", '"a"', "null", "5"])),
    () => raw({ ...RANGE, [r.pick(["extra", "id", "state", "owner", "shardsTotal"])]: r.pick([1, "x", null]) }),
    () => raw(RANGE).replace(/}$/, ',"__proto__":{"x":1}}'),
    () => r.pick(NOT_OBJECTS),
    () => r.pick(BAD_JSON),
  ];
  return r.pick(choices)();
}

/** POST /v1/jobs, malformed in body, type, size or authorization. */
export function jobCreateCase(r: Rng): FuzzCase {
  const post = (body: FuzzCase["body"], extra: Partial<FuzzCase> = {}): FuzzCase => ({
    method: "POST",
    path: "/v1/jobs",
    auth: "Bearer tok-alice",
    body,
    ...extra,
  });
  const k = r.int(20);
  if (k === 0) return post(big(8 * MiB + r.int(1000)));
  if (k === 1) return post(chunked(8 * MiB + 128 * 1024));
  if (k === 2) return post(fill({ kernel: "wordcount", shards: [{ text: "x".repeat(2 * MiB) }, "@"] }, "null"));
  if (k === 3)
    return post(raw(RANGE), { type: r.pick(["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "multipart/form-data", "json"]) });
  if (k === 4) return post(raw(RANGE), { auth: r.pick(BAD_TOKENS) });
  return post(badJobBody(r));
}

/** Reads and cancels with garbage ids, another owner, no token or a bad query. */
export function jobReadCase(r: Rng, w: FuzzWorld): FuzzCase {
  const id = r.pick(GARBAGE_IDS);
  const sub = r.pick(["", "/result"]);
  switch (r.int(6)) {
    case 0:
      return { method: r.pick(["GET", "DELETE"]), path: `/v1/jobs/${id}${sub}`, auth: "Bearer tok-alice" };
    case 1:
      return { method: r.pick(["GET", "DELETE"]), path: `/v1/jobs/${w.jobId}${r.pick(["", "/result", "/events"])}`, auth: "Bearer tok-bob" };
    case 2:
      return { method: r.pick(["GET", "DELETE"]), path: `/v1/jobs/${w.jobId}${sub}`, auth: r.pick(BAD_TOKENS) };
    case 3:
      return {
        method: "GET",
        path: `/v1/jobs?${r.pick(["limit=0", "limit=501", "limit=abc", "limit=-1", "limit=1.5", "limit=1e400", "before=-5", "before=x", "x=1"])}`,
        auth: "Bearer tok-alice",
      };
    case 4:
      return { method: "GET", path: `/v1/jobs/${w.jobId}/result`, auth: "Bearer tok-alice" };
    default:
      return { method: r.pick(["PUT", "PATCH", "POST"]), path: `/v1/jobs/${r.pick([w.jobId, id])}`, auth: "Bearer tok-alice", body: "{}" };
  }
}

/** Registration, leasing and results with bad bodies or tokens. */
export function volunteerCase(r: Rng, w: FuzzWorld): FuzzCase {
  const v = `Bearer ${w.volunteer}`;
  const badOutput = () =>
    r.pick(['{"count":"@"}'.replace('"@"', r.pick(BAD_NUMBERS)), "{}", '{"count":1,"x":1}', '{"counts":{"a":1}}', "null", "[1]", "1", '"{\\"count\\":1}"']);
  switch (r.int(14)) {
    case 0:
      return { method: "POST", path: "/v1/volunteers", body: r.pick(['{"x":1}', ...NOT_OBJECTS, ...BAD_JSON]) };
    case 1:
      return r.int(2)
        ? { method: "POST", path: "/v1/volunteers", body: big(MiB + 10) }
        : { method: "POST", path: "/v1/volunteers", body: "{}", type: "text/plain" };
    case 2:
      return { method: "POST", path: "/v1/leases", auth: v, body: fill({ max: "@" }, r.pick([...BAD_NUMBERS, "0", "65", "1000000"])) };
    case 3:
      return { method: "POST", path: "/v1/leases", auth: v, body: r.pick(['{"max":1,"x":1}', ...NOT_OBJECTS, ...BAD_JSON, big(MiB + 1, '{"max":1,"pad":"')]) };
    case 4:
      return { method: "POST", path: "/v1/leases", auth: r.pick([...BAD_TOKENS, "Bearer tok-alice", `${v}x`, v.slice(0, -2)]), body: '{"max":1}' };
    case 5:
      return { method: "POST", path: `/v1/leases/${w.lease}/result`, auth: v, body: `{"output":${badOutput()}}` };
    case 6:
      return {
        method: "POST",
        path: `/v1/leases/${w.lease}/result`,
        auth: v,
        body: r.pick(["{}", '{"output":{"count":25},"x":1}', '{"result":{"count":25}}', ...NOT_OBJECTS, ...BAD_JSON]),
      };
    case 7:
      return { method: "POST", path: `/v1/leases/${w.lease}/result`, auth: `Bearer ${w.otherVolunteer}`, body: '{"output":{"count":25}}' };
    case 8: {
      const action = r.pick(["result", "heartbeat", "release"]);
      return {
        method: "POST",
        path: `/v1/leases/${encodeURIComponent(r.pick(GARBAGE_IDS))}/${action}`,
        auth: v,
        body: action === "result" ? '{"output":{"count":1}}' : "{}",
      };
    }
    case 9:
      return {
        method: "POST",
        path: `/v1/leases/${w.lease}/${r.pick(["heartbeat", "release"])}`,
        auth: v,
        body: r.pick(['{"x":1}', ...NOT_OBJECTS, ...BAD_JSON]),
      };
    case 10:
      return {
        method: "POST",
        path: `/v1/leases/${w.lease}/${r.pick(["heartbeat", "release", "result"])}`,
        auth: r.pick([`Bearer ${w.otherVolunteer}`, ...BAD_TOKENS]),
        body: '{"output":{"count":25}}',
      };
    case 11:
      return {
        method: "POST",
        path: `/v1/leases/${w.lease}/result`,
        auth: v,
        body: '{"output":{"count":25}}',
        type: r.pick(["text/plain", "application/xml", "text/json"]),
      };
    case 12: {
      const good = { leaseId: w.lease, output: { count: 25 } };
      const bad = r.pick<unknown>([
        { leaseId: w.lease },
        { leaseId: "x".repeat(201), output: 1 },
        { leaseId: 5, output: 1 },
        { ...good, x: 1 },
        null,
        "x",
        [w.lease],
      ]);
      return { method: "POST", path: "/v1/results", auth: v, body: raw({ results: r.int(2) ? [good, bad] : [bad, good] }) };
    }
    default:
      return {
        method: "POST",
        path: "/v1/results",
        auth: r.pick([v, v, "Bearer tok-alice", ...BAD_TOKENS]),
        body: r.pick([
          raw({ results: [] }),
          raw({ results: Array(65).fill({ leaseId: w.lease, output: { count: 25 } }) }),
          raw({ results: { leaseId: w.lease } }),
          raw({ results: [], x: 1 }),
          big(MiB + 5, '{"results":[{"leaseId":"'),
          ...NOT_OBJECTS,
          ...BAD_JSON,
        ]),
      };
  }
}

/** Paths and methods the API does not have. */
export function routeCase(r: Rng): FuzzCase {
  const method = r.pick(["GET", "PUT", "PATCH", "DELETE", "POST"]);
  const path = r.pick([
    "/v1",
    "/v2/jobs",
    "/v1/job",
    "/v1/leases",
    "/v1/results",
    "/v1/volunteers/x",
    "/v1/leases/a/b/c",
    "/v1/jobs/j_aaaaaaaaaaaaaaaa/x",
    "/v1/stats/x",
    "/openapi.json/x",
  ]);
  return { method, path, auth: r.pick(["Bearer tok-alice", undefined]) };
}

import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../client/api/sse.ts";
import { EventHub } from "../../coordinator/job/event-hub.ts";
import { gridStream, type GridStreamTiming } from "../../coordinator/routes/stats.ts";
import type { AppEnv } from "../../coordinator/env.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { JobStatus } from "../../shared/schemas.ts";
import { ALICE, call, primesJob, sleep } from "./helpers.ts";

/** Reads a stream to its end, or until `ms` passed (then `ended` is false). */
async function readFor(res: Response, ms: number): Promise<{ events: SseEvent[]; ended: boolean }> {
  const events: SseEvent[] = [];
  const it = readSse(res.body!);
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    const next = await Promise.race([it.next(), sleep(Math.max(0, left)).then(() => undefined)]);
    if (next === undefined) {
      await it.return(undefined);
      return { events, ended: false };
    }
    if (next.done) return { events, ended: true };
    events.push(next.value);
  }
}

/** A job status source the hub reads, whose version the test moves. */
function fakeJob() {
  const job = { version: 1, state: "running" as JobStatus["state"] };
  const status = (): JobStatus => ({
    id: "j_fake",
    kernel: "primes.count",
    state: job.state,
    shards: { total: 1, done: 0, failed: 0 },
    createdAt: 1,
    updatedAt: job.version,
  });
  return { job, current: () => ({ status: status(), version: job.version }) };
}

/** Opens the job's stream through the API, as its owner. */
const openJobStream = (id: string): Promise<Response> => call("GET", `/v1/jobs/${id}/events`, { token: ALICE });

/** The grid stream with the given timing, served through a Hono app like the real route. */
function gridApp(timing: GridStreamTiming): Promise<Response> {
  const app = new Hono<AppEnv>().get("/", (c) => gridStream(c, timing));
  return Promise.resolve(app.fetch(new Request("http://x/"), env, createExecutionContext()));
}

describe("job event streams are bounded", () => {
  it(`answers 429 with retry-after beyond ${LIMITS.streamsPerJob} streams of one job, and frees a place when one closes`, async () => {
    const { id } = await primesJob(3);
    const open: Response[] = [];
    for (let i = 0; i < LIMITS.streamsPerJob; i++) {
      const res = await openJobStream(id);
      expect(res.status).toBe(200);
      open.push(res);
    }
    const refused = await openJobStream(id);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: "too_many_streams", message: expect.stringMatching(/event streams/) } });

    await open.shift()!.body!.cancel();
    let again: Response | undefined;
    for (let tries = 0; tries < 40 && again?.status !== 200; tries++) {
      await again?.body?.cancel();
      await sleep(50);
      again = await openJobStream(id);
    }
    expect(again!.status).toBe(200);
    for (const res of [...open, again!]) await res.body!.cancel();
  });

  it("ends a stream cleanly after the maximum duration; reconnecting with Last-Event-ID misses nothing", async () => {
    const { job, current } = fakeJob();
    const hub = new EventHub(current, { maxMs: 300 });
    const first = hub.open(undefined);
    setTimeout(() => ((job.version = 2), hub.changed(false)), 100);
    const { events, ended } = await readFor(first, 2000);
    expect(ended).toBe(true);
    expect(events.map((e) => e.id)).toEqual(["1", "2"]);
    expect(hub.size).toBe(0);

    // A change while nobody was connected arrives at once on reconnect; an unchanged status is not repeated.
    job.version = 3;
    const second = readFor(hub.open(events.at(-1)!.id), 500);
    expect((await second).events.map((e) => e.id)).toEqual(["3"]);
    expect((await readFor(hub.open("3"), 500)).events).toEqual([]);
  });

  it("drops a reader that falls behind instead of buffering for it without limit", async () => {
    const { job, current } = fakeJob();
    const hub = new EventHub(current);
    const slow = hub.open(undefined);
    for (let i = 0; i < LIMITS.streamQueueEvents * 3; i++) {
      job.version++;
      hub.changed(true);
      await sleep(1);
    }
    expect(hub.size).toBe(0);
    const { events, ended } = await readFor(slow, 1000);
    expect(ended).toBe(true);
    expect(events.length).toBeLessThanOrEqual(LIMITS.streamQueueEvents + 2);
  });

  it("keeps a reader that keeps up, however many events there are", async () => {
    const { job, current } = fakeJob();
    const hub = new EventHub(current);
    const reading = readFor(hub.open(undefined), 3000);
    for (let i = 0; i < LIMITS.streamQueueEvents * 3; i++) {
      job.version++;
      hub.changed(true);
      await sleep(5);
    }
    job.state = "done";
    job.version++;
    hub.changed(true);
    const { events, ended } = await reading;
    expect(ended).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(LIMITS.streamQueueEvents * 3);
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ state: "done" });
  });
});

/** Opens a stream with `open` until one is let in (closed streams give their places back within 2 s), then closes it. */
async function expectPlaceAgain(open: () => Promise<Response>): Promise<void> {
  let again: Response | undefined;
  for (let tries = 0; tries < 40 && again?.status !== 200; tries++) {
    await again?.body?.cancel();
    await sleep(50);
    again = await open();
  }
  expect(again!.status).toBe(200);
  await again!.body!.cancel();
}

describe("the grid statistics stream is bounded", () => {
  it("ends cleanly after the maximum duration", async () => {
    const res = await gridApp({ maxMs: 300, everyMs: 50 });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { events, ended } = await readFor(res, 3000);
    expect(ended).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.event === "stats" && /^\d+$/.test(e.id ?? ""))).toBe(true);
  });

  it("drops a reader that falls behind", async () => {
    const res = await gridApp({ maxMs: 60_000, everyMs: 1 });
    await sleep(500);
    const { events, ended } = await readFor(res, 2000);
    expect(ended).toBe(true);
    expect(events.length).toBeLessThanOrEqual(LIMITS.streamQueueEvents + 2);
  });

  it(`lets one address hold ${LIMITS.gridStreamsPerAddress} statistics streams, not every place`, async () => {
    const from = (ip: string) => exports.default.fetch("http://x/v1/stats/events", { headers: { "cf-connecting-ip": ip } });
    const open: Response[] = [];
    try {
      for (let i = 0; i < LIMITS.gridStreamsPerAddress; i++) {
        const res = await from("203.0.113.1");
        expect(res.status).toBe(200);
        open.push(res);
      }
      const refused = await from("203.0.113.1");
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ error: { code: "too_many_streams" } });
      const other = await from("198.51.100.7");
      expect(other.status).toBe(200);
      open.push(other);
    } finally {
      for (const res of open) await res.body!.cancel();
    }
    // Closed streams give their places back.
    await expectPlaceAgain(() => from("203.0.113.1"));
  });

  it(`answers 429 with retry-after beyond ${LIMITS.gridStreamsPerIsolate} streams in one isolate`, async () => {
    const open: Response[] = [];
    try {
      for (let i = 0; i < LIMITS.gridStreamsPerIsolate; i++) {
        const res = await exports.default.fetch("http://x/v1/stats/events");
        expect(res.status).toBe(200);
        open.push(res);
      }
      const refused = await exports.default.fetch("http://x/v1/stats/events");
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await refused.json()).toMatchObject({ error: { code: "too_many_streams" } });
    } finally {
      for (const res of open) await res.body!.cancel();
    }
    await expectPlaceAgain(() => exports.default.fetch("http://x/v1/stats/events"));
  });
});

import { createServer, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNodeVolunteer, type NodeVolunteer } from "../../client/node/volunteer.ts";
import { SESSION_PROTOCOL, sessionTokenProtocol } from "../../shared/session.ts";
import { countPrimes } from "../../shared/kernels/primes.ts";
import { counter, gridClient, until } from "../support/browser.ts";
import type { LocalServer } from "../support/local-server.ts";
import { startGridAndBrowser } from "../support/per-file.ts";

// The Node volunteer against a real local grid (npm start), through a proxy that counts its HTTP
// requests and either passes WebSocket upgrades through or refuses them (a grid without sessions);
// the volunteer page in real Chromium, its requests watched by Playwright.
let server: LocalServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
let grid: ReturnType<typeof gridClient>;
const volunteers: NodeVolunteer[] = [];
const proxies: Proxy[] = [];

beforeAll(async () => {
  ({ grid: server, browser } = await startGridAndBrowser());
  grid = gridClient(server.url, server.tokens[0]);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await Promise.all(volunteers.splice(0).map((v) => v.stop(0)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await grid.cancelAll();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface Proxy {
  url: string;
  /** HTTP requests seen, as `METHOD /path`. */
  requests: string[];
  upgrades: number;
  close(): Promise<void>;
}

/** A proxy to the local grid on its own port: counts requests; passes upgrades on only when `sessions`. */
async function proxy(sessions: boolean): Promise<Proxy> {
  const target = new URL(server.url);
  const sockets = new Set<Socket>();
  const seen: Proxy = { url: "", requests: [], upgrades: 0, close: async () => {} };
  const srv: Server = createServer((req, res) => {
    seen.requests.push(`${req.method} ${req.url}`);
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  srv.on("upgrade", (req, socket: Socket, head) => {
    seen.upgrades++;
    sockets.add(socket);
    if (!sessions) return socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    const up = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    sockets.add(up);
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  seen.url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  seen.close = () => {
    for (const s of sockets) s.destroy();
    srv.closeAllConnections();
    return new Promise((ok) => srv.close(() => ok()));
  };
  proxies.push(seen);
  return seen;
}

const primesJob = (start: number, step: number, count: number) => ({
  kernel: "primes.count",
  range: { start, end: start + step * count, step },
  replication: { replicas: 1, quorum: 1 },
});
/** Submits `count` shards of `step` from `start`, starts a Node volunteer on `p`, and checks the job's right count. */
async function completeJob(p: Proxy, start: number, step: number, count: number) {
  const id = await grid.submit(primesJob(start, step, count));
  volunteers.push(await startNodeVolunteer({ url: p.url, threads: 2 }));
  expect(await grid.waitDone(id, 60_000)).toMatchObject({ state: "done", shards: { total: count, done: count, failed: 0 } });
  expect((await grid.result(id)).result).toEqual({ count: countPrimes({ start, end: start + step * count }).count });
}
const leaseCalls = (p: Proxy) => p.requests.filter((r) => /^POST \/v1\/(leases|results)/.test(r));

describe("Node volunteer sessions", () => {
  it("completes a job over one session: leases and results never go over HTTP", async () => {
    const p = await proxy(true);
    await completeJob(p, 0, 50_000, 30);
    expect(p.upgrades).toBe(1);
    expect(leaseCalls(p)).toEqual([]);
  });

  it("is pushed a new job's first shard while idle, with no request in between", async () => {
    const p = await proxy(true);
    const v = await startNodeVolunteer({ url: p.url, threads: 1 });
    volunteers.push(v);
    // Nothing running: the volunteer's lease found nothing and it now waits for a push (no next check planned).
    await until(() => v.loop.status().waitingForWork, 30_000, "waiting for work");
    expect(v.loop.status().retryAt).toBeUndefined();
    const idle = p.requests.length;
    const id = await grid.submit(primesJob(1_000_000, 10_000, 4));
    expect(await grid.waitDone(id, 60_000)).toMatchObject({ state: "done", shards: { done: 4 } });
    await until(() => v.loop.status().accepted === 4, 10_000, "4 results accepted");
    expect(p.requests.slice(idle)).toEqual([]);
    expect(p.upgrades).toBe(1);
  });

  it("falls back to HTTP when no session can be opened, and still completes the job", async () => {
    const p = await proxy(false);
    await completeJob(p, 2_000_000, 50_000, 20);
    expect(p.upgrades).toBeGreaterThanOrEqual(1);
    expect(p.requests.filter((r) => r === "POST /v1/leases").length).toBeGreaterThan(0);
    expect(p.requests.filter((r) => r === "POST /v1/results").length).toBeGreaterThan(0);
  });
});

/** The volunteer page in a fresh profile, with the paths of the HTTP requests it makes and the WebSockets it opens. */
async function openPage(query: string, sessions: boolean) {
  const context = await browser.newContext({ locale: "en-US" });
  contexts.push(context);
  const page: Page = await context.newPage();
  const requests: string[] = [];
  const sockets: string[] = [];
  page.on("pageerror", (err) => console.error("page error:", err));
  page.on("request", (req) => requests.push(`${req.method()} ${new URL(req.url()).pathname}`));
  page.on("websocket", (ws) => sockets.push(ws.url()));
  if (!sessions) await page.routeWebSocket("**/v1/session", (ws) => ws.close());
  await page.goto(`${server.url}/${query}`);
  return { page, requests, sockets };
}
const isLeaseCall = (r: string) => /^POST \/v1\/(leases|results)$/.test(r);

describe("volunteer page sessions", () => {
  it("is pushed a job while idle and completes it over one session, with no lease or result over HTTP", async () => {
    const { page, requests, sockets } = await openPage("?autostart=1&threads=2", true);
    await until(async () => /^Waiting for work: it will be sent/.test((await page.locator("#state").textContent()) ?? ""), 30_000, "waiting for a push");
    const id = await grid.submit(primesJob(5_000_000, 50_000, 20));
    expect(await grid.waitDone(id, 60_000)).toMatchObject({ state: "done", shards: { total: 20, done: 20, failed: 0 } });
    expect((await grid.result(id)).result).toEqual({ count: countPrimes({ start: 5_000_000, end: 6_000_000 }).count });
    await until(async () => (await counter(page, "pending")) === 0 && (await counter(page, "shards-visit")) === 20, 10_000, "20 shards sent");
    expect(sockets).toEqual([`${server.url.replace("http", "ws")}/v1/session`]);
    expect(requests.filter(isLeaseCall)).toEqual([]);
  });

  it("leases over HTTP when its session is refused, and completes the job", async () => {
    const { page, requests } = await openPage("?autostart=1&threads=2", false);
    const id = await grid.submit(primesJob(7_000_000, 50_000, 20));
    expect(await grid.waitDone(id, 60_000)).toMatchObject({ state: "done", shards: { total: 20, done: 20, failed: 0 } });
    await until(async () => (await counter(page, "pending")) === 0, 10_000, "results sent");
    expect(requests.filter((r) => r === "POST /v1/leases").length).toBeGreaterThan(0);
    expect(requests.filter((r) => r === "POST /v1/results").length).toBeGreaterThan(0);
  });
});

describe("session frames", () => {
  /** A new volunteer's token, and the session URL. */
  const newVolunteer = async () => {
    const res = await fetch(`${server.url}/v1/volunteers`, { method: "POST" });
    expect(res.status).toBe(201);
    return {
      url: `${server.url.replace(/^http/, "ws")}/v1/session`,
      protocols: [SESSION_PROTOCOL, sessionTokenProtocol(((await res.json()) as { token: string }).token)],
    };
  };

  it("are never compressed, though Node and Chromium both offer permessage-deflate", async () => {
    // Node's WebSocket (undici) offers permessage-deflate on every upgrade.
    const { url, protocols } = await newVolunteer();
    const ws = new WebSocket(url, protocols);
    await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = fail)));
    expect(ws.protocol).toBe(SESSION_PROTOCOL);
    expect(ws.extensions).toBe("");
    ws.close();

    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/healthz`);
    const other = await newVolunteer();
    const seen = await page.evaluate(
      ({ url, protocols }) =>
        new Promise<{ protocol: string; extensions: string }>((ok, fail) => {
          const s = new WebSocket(url, protocols);
          s.onopen = () => (ok({ protocol: s.protocol, extensions: s.extensions }), s.close());
          s.onerror = () => fail(new Error("session did not open"));
        }),
      other,
    );
    expect(seen).toEqual({ protocol: SESSION_PROTOCOL, extensions: "" });
  });
});

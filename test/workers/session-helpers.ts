import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { Lease } from "../../shared/schemas.ts";
import type { SessionMessage, SessionReply, SessionRequestInput, SessionWork } from "../../shared/session.ts";

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** A volunteer session over the real Worker's `GET /v1/session`, with its messages queued for the test. */
export class TestSession {
  readonly received: SessionMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  #waiters: (() => void)[] = [];
  #next = 1;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    ws.addEventListener("message", (e) => {
      const text = typeof e.data === "string" ? e.data : "";
      // Anything not JSON (the runtime's "pong") is kept as a `raw` message.
      let m: SessionMessage;
      try {
        m = JSON.parse(text) as SessionMessage;
      } catch {
        m = { type: "raw", data: text } as unknown as SessionMessage;
      }
      this.received.push(m);
      this.#notify();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until `pick` finds a message (removing it), or fails after `timeoutMs`. */
  async take<T extends SessionMessage>(pick: (m: SessionMessage) => m is T, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.received.findIndex(pick);
      if (at >= 0) return this.received.splice(at, 1)[0] as T;
      if (this.closed || Date.now() > deadline)
        throw new Error(`no such message (closed: ${JSON.stringify(this.closed)}; have ${JSON.stringify(this.received).slice(0, 300)})`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, Math.max(0, deadline - Date.now()));
      });
    }
  }

  /** Waits until the session is closed. */
  async whenClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => (this.#waiters.push(r), setTimeout(r, 50)));
    expect(this.closed).toBeDefined();
    return this.closed!;
  }

  /** Sends one request (a fresh id unless it has one) and waits for its reply. */
  async request(req: WithoutId<SessionRequestInput> & { id?: string | number }): Promise<SessionReply> {
    const id = req.id ?? this.#next++;
    this.ws.send(JSON.stringify({ ...req, id }));
    return this.take((m): m is SessionReply => m.type === "reply" && m.id === id);
  }

  /** The next reply with no id (a message that could not be read, or a refused one). */
  anonymousReply(timeoutMs?: number): Promise<SessionReply> {
    return this.take((m): m is SessionReply => m.type === "reply" && m.id === null, timeoutMs);
  }

  /** The next pushed `work`. */
  work(timeoutMs?: number): Promise<SessionWork> {
    return this.take((m): m is SessionWork => m.type === "work", timeoutMs);
  }

  async lease(max = 1, wait = false): Promise<Lease[]> {
    const r = await this.request({ type: "lease", max, wait });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return (r.body as { leases: Lease[] }).leases;
  }

  close(): void {
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

/** `GET /v1/session` on the real Worker: the raw answer (a 101 with a socket, or an error). */
export function upgrade(headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch("http://x/v1/session", { headers: { upgrade: "websocket", ...headers } });
}

/** Opens a session for a volunteer token (101 expected) and waits for its `ready`. */
export async function openSession(token: string): Promise<TestSession> {
  const res = await upgrade({ authorization: `Bearer ${token}` });
  expect(res.status).toBe(101);
  const s = new TestSession(res.webSocket!);
  await s.take((m): m is Extract<SessionMessage, { type: "ready" }> => m.type === "ready");
  return s;
}

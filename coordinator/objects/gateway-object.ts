import { DurableObject } from "cloudflare:workers";
import type { Lease } from "../../shared/schemas.ts";
import type { RunningJob } from "./grid-object.ts";
import {
  SESSION_LIMITS,
  SESSION_PING,
  SESSION_PROTOCOL,
  SessionRequest,
  type RequestId,
  type SessionReady,
  type SessionReply,
  type SessionWork,
} from "../../shared/session.ts";
import { describeIssues } from "../body.ts";
import { anyRunning, noteStarted } from "../dispatch.ts";
import { errorBody } from "../errors.ts";
import { BatchedCalls } from "../gateway/job-calls.ts";
import { runOp, type OpVars, type Reply, type VolunteerOp } from "../gateway/ops.ts";
import { jobOfLease } from "../ids.ts";
import { jobStub } from "../stubs.ts";
import { forgetStanding } from "../trust.ts";

/** Header the Worker sets on a session upgrade it authenticated: the volunteer's id. */
export const VOLUNTEER_HEADER = "x-colmeia-volunteer";

/** While sessions wait and jobs run, waiting sessions are offered work again this often (freed or expired shards). */
const REOFFER_MS = 2000;
/** Waiting sessions offered work at once. */
const OFFER_PARALLEL = 16;

/** What a session's socket carries through hibernation: its volunteer, and leases wanted while waiting (0: not waiting). */
interface Attachment {
  v: string;
  w: number;
  /** Leases pushed to this session that it has not yet said a word after: given back if it closes first. */
  p?: string[];
}

interface Bucket {
  tokens: number;
  at: number;
  /** Messages refused since `since`: a session refused a burst's worth within FLOOD_WINDOW_MS is closed. */
  refused: number;
  since: number;
}

const FLOOD_WINDOW_MS = 10_000;

/**
 * Each session's attachment as this instance last wrote or read it, so a message does not
 * deserialize it again. The map goes with the instance (hibernation), and a socket it does not
 * know is read from its attachment; every write goes through {@link setAttachment}.
 */
const attachments = new WeakMap<WebSocket, Attachment | null>();
const attachment = (ws: WebSocket): Attachment | null => {
  let att = attachments.get(ws);
  if (att === undefined) attachments.set(ws, (att = ws.deserializeAttachment() as Attachment | null));
  return att;
};
const setAttachment = (ws: WebSocket, att: Attachment): void => {
  ws.serializeAttachment(att);
  attachments.set(ws, att);
};
const reply = (id: RequestId | null, r: Reply): string => JSON.stringify({ type: "reply", id, status: r.status, body: r.body } satisfies SessionReply);
const refuse = (id: RequestId | null, status: number, code: string, message: string) => reply(id, { status, body: errorBody(code, message) });

/**
 * A gateway between volunteers and jobs: holds the WebSocket sessions of the volunteers mapped to
 * it (hibernatable: an idle session costs nothing, and its volunteer travels in the socket's
 * attachment), runs their calls and the HTTP lease calls (`run`), and pushes work to waiting
 * sessions the moment a job starts. Stores nothing: leases and results are the jobs' decisions.
 */
export class GatewayObject extends DurableObject<Env> {
  readonly #buckets = new WeakMap<WebSocket, Bucket>();
  /** Bumped by every job start: a lease answered empty across one is offered again at once. */
  #generation = 0;
  #waking: Promise<void> | undefined;
  #wakeAgain = false;
  /** This gateway's calls to job objects, batched per job. */
  readonly calls: BatchedCalls;
  /** What this instance did (tests and logs: idle sessions must cost none of it). */
  readonly served = { messages: 0, offers: 0, wakes: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.calls = new BatchedCalls(env);
    // Keep-alive probes are answered by the runtime without waking this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(SESSION_PING.request, SESSION_PING.response));
  }

  /** The session upgrade, forwarded by the Worker after it authenticated the volunteer. */
  override async fetch(request: Request): Promise<Response> {
    const volunteer = request.headers.get(VOLUNTEER_HEADER);
    if (!volunteer) return Response.json(errorBody("unauthorized", "sessions are opened through GET /v1/session"), { status: 401 });
    if (this.ctx.getWebSockets(volunteer).length >= SESSION_LIMITS.sessionsPerVolunteer) {
      return Response.json(
        errorBody("too_many_sessions", `this volunteer has ${SESSION_LIMITS.sessionsPerVolunteer} sessions open, the most it may; close one first`),
        {
          status: 429,
          headers: { "retry-after": "10" },
        },
      );
    }
    if (this.ctx.getWebSockets().length >= SESSION_LIMITS.sessionsPerGateway) {
      return Response.json(errorBody("sessions_full", "this gateway holds all the sessions it may; use the HTTP endpoints or retry later"), {
        status: 503,
        headers: { "retry-after": "30" },
      });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [volunteer]);
    setAttachment(server, { v: volunteer, w: 0 });
    server.send(JSON.stringify({ type: "ready", volunteer } satisfies SessionReady));
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
    const headers: Record<string, string> = offered.includes(SESSION_PROTOCOL) ? { "sec-websocket-protocol": SESSION_PROTOCOL } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Sessions open here (of one volunteer, or all). */
  async sessions(volunteer?: string): Promise<number> {
    return this.ctx.getWebSockets(volunteer).length;
  }

  /**
   * A volunteer's standing changed (its record says so, VolunteerObject): the profile this
   * isolate keeps of it is dropped, so its next call here reads the new one.
   */
  async standingChanged(volunteer: string): Promise<void> {
    forgetStanding(volunteer);
  }

  /** One HTTP volunteer call, run here like a session's (with the calling Worker's settings, see OpVars). */
  async run(volunteer: string, op: VolunteerOp, vars: OpVars = {}): Promise<Reply> {
    return runOp({ ...this.env, ...vars }, volunteer, op, this.calls);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.served.messages++;
    const att = attachment(ws);
    if (!att) return ws.close(1011, "session lost its volunteer");
    // A message after a push says the session is alive and has its work.
    if (att.p) this.#attach(ws, att.v, att.w);
    if (!this.#take(ws, message)) return;
    if (typeof message !== "string") return void send(ws, refuse(null, 400, "invalid_json", "messages are JSON text, not binary"));
    // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: measure only when it might be over.
    if (message.length * 3 > SESSION_LIMITS.messageBytes && new TextEncoder().encode(message).length > SESSION_LIMITS.messageBytes) {
      return void send(ws, refuse(leadingId(message), 413, "body_too_large", `message exceeds ${SESSION_LIMITS.messageBytes} bytes`));
    }
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return void send(ws, refuse(null, 400, "invalid_json", "message is not valid JSON"));
    }
    const parsed = SessionRequest.safeParse(json);
    if (!parsed.success) {
      const id = (json as { id?: unknown } | null)?.id;
      const known = typeof id === "string" || typeof id === "number" ? (id as RequestId) : null;
      return void send(ws, refuse(known, 400, "invalid_body", describeIssues(parsed.error)));
    }
    const { id, ...op } = parsed.data;
    const generation = this.#generation;
    const r = await runOp(this.env, att.v, op, this.calls);
    if (op.type === "lease") {
      const empty = r.status === 200 && !(r.body as { leases: Lease[] }).leases.length;
      this.#attach(ws, att.v, empty && op.wait ? op.max : 0);
      if (empty && op.wait) {
        // A job that started while this lease was being looked for is offered at once.
        if (generation !== this.#generation) void this.#wake();
        else await this.#reofferLater();
      }
    }
    send(ws, reply(id, r));
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Work pushed as the session was going away (a tab closing) would otherwise wait out its lease.
    const att = attachment(ws);
    if (att?.p?.length) await this.#giveBack(att.v, att.p);
    // The hibernation API does not answer a peer's close frame by itself.
    try {
      ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011);
  }

  /** A job became runnable: offer it to the sessions waiting here, at once. */
  async jobStarted(job: RunningJob): Promise<void> {
    this.#generation++;
    // Into this isolate's running list at once: the offers need no read of the grid first.
    noteStarted(job);
    await this.#wake();
  }

  /** Re-offers work to waiting sessions while jobs run (shards released or expired meanwhile). */
  override async alarm(): Promise<void> {
    await this.#wake();
  }

  /** Token bucket per session; a session that keeps sending past it is closed (1008). */
  #take(ws: WebSocket, message: string | ArrayBuffer): boolean {
    const now = Date.now();
    let b = this.#buckets.get(ws);
    if (!b) this.#buckets.set(ws, (b = { tokens: SESSION_LIMITS.messageBurst, at: now, refused: 0, since: now }));
    b.tokens = Math.min(SESSION_LIMITS.messageBurst, b.tokens + ((now - b.at) / 1000) * SESSION_LIMITS.messagesPerSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens--;
      return true;
    }
    if (now - b.since > FLOOD_WINDOW_MS) Object.assign(b, { refused: 0, since: now });
    if (++b.refused >= SESSION_LIMITS.messageBurst) {
      ws.close(1008, "message rate exceeded");
      return false;
    }
    send(
      ws,
      refuse(
        typeof message === "string" ? leadingId(message) : null,
        429,
        "rate_limited",
        `more than ${SESSION_LIMITS.messagesPerSecond} messages a second; slow down`,
      ),
    );
    return false;
  }

  /** Rewrites the session's attachment: how many leases it waits for, and the leases pushed to it that it has not answered yet. */
  #attach(ws: WebSocket, volunteer: string, wanted: number, pushed?: string[]): void {
    try {
      setAttachment(ws, { v: volunteer, w: wanted, ...(pushed && { p: pushed }) });
    } catch {
      // closed meanwhile
    }
  }

  /** Offers work to waiting sessions; concurrent wakes share one pass (and one more after it). */
  #wake(): Promise<void> {
    if (this.#waking) {
      this.#wakeAgain = true;
      return this.#waking;
    }
    this.#waking = (async () => {
      do {
        this.#wakeAgain = false;
        this.served.wakes++;
        await this.#offer();
      } while (this.#wakeAgain);
    })().finally(() => (this.#waking = undefined));
    return this.#waking;
  }

  /** Leases for waiting sessions, a few at a time, until one finds nothing (no work left anywhere). */
  async #offer(): Promise<void> {
    const waiting = this.ctx.getWebSockets().filter((ws) => (attachment(ws)?.w ?? 0) > 0);
    let exhausted = false;
    for (let i = 0; i < waiting.length && !exhausted; i += OFFER_PARALLEL) {
      await Promise.all(
        waiting.slice(i, i + OFFER_PARALLEL).map(async (ws) => {
          const att = attachment(ws);
          if (exhausted || !att?.w) return;
          this.served.offers++;
          const r = await runOp(this.env, att.v, { type: "lease", max: att.w }, this.calls);
          // Blacklisted meanwhile: stop offering. Any other failure ends this pass; the re-offer tries again.
          if (r.status === 403) return this.#attach(ws, att.v, 0);
          if (r.status !== 200) return void (exhausted = true);
          const leases = (r.body as { leases: Lease[] }).leases;
          if (!leases.length) return void (exhausted = true);
          const ids = leases.map((l) => l.id);
          if (send(ws, JSON.stringify({ type: "work", leases } satisfies SessionWork))) this.#attach(ws, att.v, 0, ids);
          // The session closed meanwhile: hand its shards straight back.
          else await this.#giveBack(att.v, ids);
        }),
      );
    }
    if (exhausted) await this.#reofferLater();
  }

  /** Releases a volunteer's leases (those done or gone meanwhile are refused, and that is fine). */
  async #giveBack(volunteer: string, leaseIds: string[]): Promise<void> {
    await Promise.all(
      leaseIds.map((id) =>
        jobStub(this.env, jobOfLease(id)!)
          .release(volunteer, id)
          .catch(() => undefined),
      ),
    );
  }

  /** Sets the re-offer alarm while sessions wait and some job runs; with nothing running, nothing wakes this object. */
  async #reofferLater(): Promise<void> {
    if (!(await anyRunning(this.env))) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + REOFFER_MS);
  }
}

/** Sends on a session that may have closed meanwhile; says whether it went. */
function send(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The request id of a message that is refused before it is parsed (over the rate, too large),
 * read from its first 256 characters only, so the client can match the refusal to its request;
 * null when it is not there.
 */
export function leadingId(message: string): string | number | null {
  const m = /"id"\s*:\s*(?:"([^"\\]{1,64})"|(\d{1,15}))/.exec(message.slice(0, 256));
  if (!m) return null;
  return m[1] ?? Number(m[2]);
}

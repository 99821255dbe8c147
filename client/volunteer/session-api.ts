import type { SessionReply } from "../../shared/session.ts";
import { answerError, ColmeiaError } from "../api/errors.ts";
import { isLease } from "../api/guards.ts";
import { createVolunteerApi, expiryOf, type VolunteerApi, type VolunteerApiOptions } from "./api.ts";
import { createBackoff, type BackoffOptions } from "./backoff.ts";
import { openSessionSocket, type SessionCall, type SessionSocket } from "./session-socket.ts";
import type { BatchResultEntry, Lease } from "./types.ts";

/** Options of {@link createSessionApi}. */
export interface SessionApiOptions extends VolunteerApiOptions {
  /** The HTTP client for what sessions do not carry and for when they cannot be had. Default: one from these options. */
  http?: VolunteerApi;
  /** Wait between attempts to open a session after one failed (HTTP is used meanwhile). Default 500 ms doubling to 60 s. */
  reconnect?: BackoffOptions;
  /** `ping` interval of an open session (ms). Default 30 000. */
  pingMs?: number;
  WebSocket?: typeof WebSocket;
}

type Waiter = { socket: SessionSocket; resolve(leases: Lease[]): void; reject(error: ColmeiaError): void };

/**
 * A VolunteerApi that leases, submits, heartbeats and releases over one WebSocket session
 * (`GET /v1/session`) and is pushed work when a job starts, so an idle volunteer sends nothing.
 * Identity, registration, modules, inputs and `me` stay on HTTP. When a session cannot be opened
 * (no WebSocket, a coordinator without sessions, a refused upgrade) each call goes over HTTP and
 * a session is tried again after a backoff; a session that drops is reopened on the next call.
 * @example
 * const api = createSessionApi({ baseUrl: "http://127.0.0.1:8787", identity: memoryIdentity() });
 */
export function createSessionApi(opts: SessionApiOptions): VolunteerApi {
  const http = opts.http ?? createVolunteerApi(opts);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const reconnect = createBackoff({ baseMs: 500, maxMs: 60_000, ...opts.reconnect });
  const url = new URL("/v1/session", opts.baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let socket: SessionSocket | undefined;
  let opening: Promise<SessionSocket | undefined> | undefined;
  let retryAt = 0;
  let closed = false;
  /** The session whose last lease found nothing and waits for a push. */
  let waitingOn: SessionSocket | undefined;
  let waiter: Waiter | undefined;

  /** Session `s` has spoken (work pushed, or closed): it waits no more, and its waiter, if any, is handed back to settle. */
  function settle(s: SessionSocket | undefined): Waiter | undefined {
    if (waitingOn === s) waitingOn = undefined;
    if (!waiter || waiter.socket !== s) return undefined;
    const w = waiter;
    waiter = undefined;
    return w;
  }

  function onWork(from: () => SessionSocket | undefined, leases: Lease[]) {
    const s = from();
    const w = settle(s);
    if (!w) {
      // Nobody is waiting any more (paused, stopped): hand the shards straight back.
      for (const lease of leases) void s?.request({ type: "release", leaseId: lease.id }).catch(() => {});
      return;
    }
    // A word back at once: the coordinator gives pushed work back if the session closes before one.
    if (leases[0]) void s?.request({ type: "heartbeat", leaseId: leases[0].id }).catch(() => {});
    w.resolve(leases);
  }

  function onClose(s: SessionSocket | undefined) {
    settle(s)?.reject(new ColmeiaError(0, "unreachable", "session closed while waiting for work"));
  }

  /** The open session, opening one if none is and the last failure is long enough ago; else undefined (use HTTP). */
  function connect(): Promise<SessionSocket | undefined> {
    if (socket && !socket.closed) return Promise.resolve(socket);
    if (closed || typeof (opts.WebSocket ?? globalThis.WebSocket) !== "function" || Date.now() < retryAt) return Promise.resolve(undefined);
    opening ??= (async () => {
      try {
        const { token } = await http.identity();
        let opened: SessionSocket | undefined;
        opened = await openSessionSocket({
          url: url.href,
          token,
          timeoutMs,
          pingMs: opts.pingMs ?? 30_000,
          WebSocket: opts.WebSocket,
          onWork: (leases) => onWork(() => opened, leases),
          onClose: () => onClose(opened),
        });
        if (closed) return (opened.close(), undefined);
        reconnect.reset();
        return (socket = opened);
      } catch {
        retryAt = Date.now() + reconnect.next();
        return undefined;
      } finally {
        opening = undefined;
      }
    })();
    return opening;
  }

  /** Runs `call` on the session, or `viaHttp` when there is none; a reply's error status throws as HTTP's would. */
  async function over<T>(call: SessionCall, read: (body: unknown) => T, viaHttp: () => Promise<T>, on = connect()): Promise<T> {
    const session = await on;
    if (!session) return viaHttp();
    const reply = await session.request(call);
    // The token no longer holds (the grid's state was wiped): HTTP registers afresh, the next session uses the new one.
    if (reply.status === 401) return (session.close(), viaHttp());
    if (reply.status >= 400) throw replyError(reply, call.type);
    return read(reply.body);
  }

  return {
    ...http,
    async lease(max) {
      const on = connect();
      const leases = await over(
        { type: "lease", max, wait: true },
        (b) => listOf(b, "leases", "lease").filter(isLease),
        () => http.lease(max),
        on,
      );
      const session = await on;
      if (session && !session.closed && !leases.length) waitingOn = session;
      return leases;
    },
    submit: (results) =>
      over(
        { type: "results", results },
        (b) => listOf(b, "results", "results") as BatchResultEntry[],
        () => http.submit(results),
      ),
    heartbeat: (leaseId) => over({ type: "heartbeat", leaseId }, expiryOf, () => http.heartbeat(leaseId)),
    release: (leaseId) =>
      over(
        { type: "release", leaseId },
        () => undefined,
        () => http.release(leaseId),
      ),
    work(signal) {
      const session = waitingOn;
      if (!session || session.closed) return Promise.resolve(null);
      if (signal.aborted) return Promise.resolve([]);
      return new Promise<Lease[]>((resolve, reject) => {
        const me: Waiter = { socket: session, resolve, reject };
        waiter = me;
        signal.addEventListener(
          "abort",
          () => {
            if (waiter === me) (waiter = undefined), resolve([]);
          },
          { once: true },
        );
      });
    },
    close() {
      closed = true;
      socket?.close();
      http.close?.();
    },
  };
}

function listOf(body: unknown, key: string, what: string): unknown[] {
  const list = (body as Record<string, unknown> | null | undefined)?.[key];
  if (!Array.isArray(list)) throw new ColmeiaError(502, "bad_response", `session ${what} reply did not carry {${key}}`);
  return list;
}

/** A reply's error status as the HTTP call's would throw it. */
function replyError(reply: SessionReply, what: string): ColmeiaError {
  // A session's 429 carries no retry-after: wait a second, as its rate refills.
  return answerError(reply.status, reply.body, `session ${what} answered ${reply.status}`, reply.status === 429 ? 1000 : undefined);
}

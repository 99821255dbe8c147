import type { SESSION_LIMITS, SESSION_PING, SESSION_PROTOCOL, SessionReply, SessionRequestInput } from "../../shared/session.ts";
import { ColmeiaError } from "../api/errors.ts";
import { isLease, isObject } from "../api/guards.ts";
import type { Lease } from "./types.ts";

// Written out, not imported: shared/session.ts builds zod schemas on load, and no zod goes into the page bundle.
const PROTOCOL: typeof SESSION_PROTOCOL = "colmeia.v1";
const PING: (typeof SESSION_PING)["request"] = "ping";
/**
 * The coordinator's message rate per session (SESSION_LIMITS), kept under here: a message over it
 * is answered 429 with a null `id` (it is refused before being read), which no request could claim.
 */
const RATE: (typeof SESSION_LIMITS)["messagesPerSecond"] = 50;
const BURST: (typeof SESSION_LIMITS)["messageBurst"] = 100;
const MARGIN = 0.8;

/** A session request without its `id` (the socket numbers them). */
export type SessionCall = SessionRequestInput extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

/** An open session (`GET /v1/session`): requests answered by id, pushed work handed to `onWork`. */
export interface SessionSocket {
  request(call: SessionCall): Promise<SessionReply>;
  readonly closed: boolean;
  close(): void;
}

/** Options of {@link openSessionSocket}. */
export interface SessionSocketOptions {
  /** `ws:` or `wss:` URL of `/v1/session`. */
  url: string;
  token: string;
  /** Time to open and be greeted with `ready`, and each request's time limit (ms). */
  timeoutMs: number;
  /** How often to send `ping` (answered by the runtime, no request); silence for two of these closes the socket. */
  pingMs: number;
  onWork(leases: Lease[]): void;
  onClose(): void;
  WebSocket?: typeof WebSocket;
}

const isReply = (m: Record<string, unknown>): m is SessionReply =>
  m.type === "reply" && typeof m.status === "number" && (m.id === null || typeof m.id === "number" || typeof m.id === "string");

/**
 * Opens a session with the volunteer token as a subprotocol (browsers cannot set headers on a
 * WebSocket); resolves once the coordinator has said `ready`, rejects with ColmeiaError(0) when the
 * socket cannot be opened (refused upgrade, no such route, unreachable, time limit).
 */
export function openSessionSocket(opts: SessionSocketOptions): Promise<SessionSocket> {
  const Socket = opts.WebSocket ?? WebSocket;
  const pending = new Map<number, { resolve(r: SessionReply): void; reject(e: ColmeiaError): void; timer: ReturnType<typeof setTimeout> }>();
  let seq = 0;
  let closed = false;
  let heardAt = Date.now();
  // A token bucket like the coordinator's, a little slower: a request waits for its turn instead of being refused.
  let tokens = BURST * MARGIN;
  let filledAt = Date.now();
  const turnIn = () => {
    const now = Date.now();
    tokens = Math.min(BURST * MARGIN, tokens + ((now - filledAt) / 1000) * RATE * MARGIN);
    filledAt = now;
    tokens--;
    return tokens >= 0 ? 0 : (-tokens / (RATE * MARGIN)) * 1000;
  };
  let pinger: ReturnType<typeof setInterval> | undefined;
  const ws = new Socket(opts.url, [PROTOCOL, `bearer.${opts.token}`]);

  return new Promise((resolve, reject) => {
    // Calls wait while a session opens: give up soon and let them go over HTTP.
    const opening = setTimeout(() => end("session did not open in time"), Math.min(opts.timeoutMs, 5000));
    function end(why: string) {
      if (closed) return;
      closed = true;
      clearTimeout(opening);
      clearInterval(pinger);
      try {
        ws.close();
      } catch {}
      const error = new ColmeiaError(0, "unreachable", `session closed: ${why}`);
      for (const p of pending.values()) clearTimeout(p.timer), p.reject(error);
      pending.clear();
      reject(error);
      opts.onClose();
    }
    const socket: SessionSocket = {
      get closed() {
        return closed;
      },
      close: () => end("closed by the volunteer"),
      request(call) {
        if (closed) return Promise.reject(new ColmeiaError(0, "unreachable", "session closed"));
        const id = ++seq;
        const delay = turnIn();
        return new Promise((ok, fail) => {
          const timer = setTimeout(() => end(`no answer to ${call.type} in time`), delay + opts.timeoutMs);
          pending.set(id, { resolve: ok, reject: fail, timer });
          const send = () => closed || ws.send(JSON.stringify({ id, ...call })); // id first: a refusal sent unread still names it
          if (delay > 0) setTimeout(send, delay);
          else send();
        });
      },
    };
    ws.addEventListener("error", () => end("socket error"));
    ws.addEventListener("close", (e) => end(`code ${e.code}`));
    ws.addEventListener("message", (e) => {
      heardAt = Date.now();
      if (typeof e.data !== "string" || e.data === "pong") return;
      let message: unknown;
      try {
        message = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!isObject(message)) return;
      if (message.type === "ready") {
        clearTimeout(opening);
        pinger = setInterval(() => {
          if (Date.now() - heardAt > 2 * opts.pingMs) end("no pong");
          else ws.send(PING);
        }, opts.pingMs);
        // A Node process may exit while its session idles: the socket alone keeps it alive.
        (pinger as { unref?: () => void }).unref?.();
        resolve(socket);
      } else if (message.type === "work" && Array.isArray(message.leases)) {
        opts.onWork(message.leases.filter(isLease));
      } else if (isReply(message) && typeof message.id === "number") {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        clearTimeout(p.timer);
        p.resolve(message);
      }
    });
  });
}

import * as z from "zod";
import { LIMITS } from "./limits.ts";
import { BatchResults, Lease, LeaseRequest } from "./schemas.ts";

/**
 * The volunteer session protocol (`GET /v1/session`, a WebSocket): JSON text messages, one
 * request or answer each. Requests carry an `id` the answer repeats; an answer's `status` and
 * `body` are exactly what the matching HTTP call answers (`POST /v1/leases`, `POST /v1/results`,
 * `POST /v1/leases/:id/heartbeat`, `POST /v1/leases/:id/release`), errors included. The
 * coordinator also pushes `work` to a session whose last lease request found nothing and asked
 * to `wait`.
 *
 * @example
 * const ws = new WebSocket("wss://grid.example/v1/session", [SESSION_PROTOCOL, sessionTokenProtocol(token)]);
 * ws.send(JSON.stringify({ type: "lease", id: 1, max: 4, wait: true } satisfies SessionRequest));
 */

/** The subprotocol a session speaks; the server selects it in its upgrade answer. */
export const SESSION_PROTOCOL = "colmeia.v1";

/** Browsers cannot set headers on a WebSocket: the volunteer token may travel as a second subprotocol. */
export const sessionTokenProtocol = (token: string) => `bearer.${token}`;

/** Bounds of sessions (published in `/openapi.json` under `x-colmeia-session.limits`). */
export const SESSION_LIMITS = {
  /** Largest message, in bytes of UTF-8 (the HTTP body limit). */
  messageBytes: LIMITS.bodyBytes,
  /** Most open sessions of one volunteer (its browser tabs and processes). */
  sessionsPerVolunteer: 8,
  /** Most open sessions one gateway holds; one more is refused with 503 and retry-after. */
  sessionsPerGateway: 10_000,
  /** Sustained messages a second one session may send; more are answered 429, a flood closes it (1008). */
  messagesPerSecond: 50,
  /** Messages a session may send at once before the rate applies. */
  messageBurst: 100,
} as const;

/** A request id: echoed in the answer so the volunteer can match them. */
export const RequestId = z.union([z.string().min(1).max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);
export type RequestId = z.infer<typeof RequestId>;

const LeaseId = z.string().min(1).max(200);

/** Volunteer → coordinator. */
export const SessionRequest = z.discriminatedUnion("type", [
  /** Like `POST /v1/leases`; with `wait`, an empty answer leaves the session waiting for a `work` push. */
  z.strictObject({ type: z.literal("lease"), id: RequestId, max: LeaseRequest.shape.max, wait: z.boolean().default(false) }),
  /** Like `POST /v1/results`. */
  z.strictObject({ type: z.literal("results"), id: RequestId, results: BatchResults.shape.results }),
  /** Like `POST /v1/leases/:leaseId/heartbeat`. */
  z.strictObject({ type: z.literal("heartbeat"), id: RequestId, leaseId: LeaseId }),
  /** Like `POST /v1/leases/:leaseId/release`. */
  z.strictObject({ type: z.literal("release"), id: RequestId, leaseId: LeaseId }),
]);
export type SessionRequest = z.infer<typeof SessionRequest>;
export type SessionRequestInput = z.input<typeof SessionRequest>;

/** Coordinator → volunteer: the answer to one request (`id` null when the message could not be read). */
export const SessionReply = z.object({ type: z.literal("reply"), id: RequestId.nullable(), status: z.number(), body: z.unknown() });
export type SessionReply = z.infer<typeof SessionReply>;

/** Coordinator → volunteer: leases for a session that was waiting (at most the `max` it asked for). */
export const SessionWork = z.object({ type: z.literal("work"), leases: z.array(Lease) });
export type SessionWork = z.infer<typeof SessionWork>;

/** Coordinator → volunteer: sent once the session is open. */
export const SessionReady = z.object({ type: z.literal("ready"), volunteer: z.string() });
export type SessionReady = z.infer<typeof SessionReady>;

export const SessionMessage = z.discriminatedUnion("type", [SessionReply, SessionWork, SessionReady]);
export type SessionMessage = z.infer<typeof SessionMessage>;

/** A liveness probe answered by the runtime without waking the session's object: send `ping`, get `pong`. */
export const SESSION_PING = { request: "ping", response: "pong" } as const;

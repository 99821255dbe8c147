import { Hono } from "hono";
import { SESSION_PROTOCOL } from "../../shared/session.ts";
import { bearer, verifyVolunteerToken } from "../auth.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { VOLUNTEER_HEADER } from "../objects/gateway-object.ts";
import { limitAddress } from "../rate-limit.ts";
import { signingSecret } from "../secret.ts";
import { gatewayStub } from "./gateways.ts";

/**
 * The volunteer token of a session upgrade: the Authorization header, or (browsers cannot set
 * headers on a WebSocket) a `bearer.<token>` subprotocol offered beside `colmeia.v1`.
 */
function sessionToken(authorization: string | undefined, protocols: string | undefined): string {
  const offered = (protocols ?? "").split(",").map((p) => p.trim());
  const carried = offered.find((p) => p.startsWith("bearer."));
  if (authorization === undefined && carried) {
    if (!offered.includes(SESSION_PROTOCOL)) throw new ApiError(400, "invalid_protocol", `offer the ${SESSION_PROTOCOL} subprotocol beside the token`);
    return carried.slice("bearer.".length);
  }
  return bearer(authorization);
}

/**
 * `GET /v1/session`: a volunteer's WebSocket session (see shared/session.ts). Authenticated like
 * the HTTP volunteer calls (token, per-address rate limit; a blacklisted volunteer's requests get
 * 403 like its HTTP calls), then handed to the volunteer's gateway, which accepts it with the
 * hibernation API.
 */
export const sessionRoutes = new Hono<AppEnv>().get("/", async (c) => {
  await limitAddress(c);
  const token = sessionToken(c.req.header("authorization"), c.req.header("sec-websocket-protocol"));
  const volunteer = await verifyVolunteerToken(await signingSecret(c.env), token);
  c.set("volunteer", volunteer);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "GET /v1/session opens a WebSocket: send Upgrade: websocket");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set(VOLUNTEER_HEADER, volunteer);
  return gatewayStub(c.env, volunteer).fetch(new Request(c.req.url, { headers }));
});

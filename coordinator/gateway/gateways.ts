import type { GatewayObject } from "../objects/gateway-object.ts";
import type { RunningJob } from "../objects/grid-object.ts";
import { describeError, log } from "../observe/log.ts";
import { objectId } from "../stubs.ts";

/**
 * Gateways between volunteers and jobs: a volunteer always talks to the same one of
 * `GATEWAY_COUNT` objects (by a hash of its id), which holds its sessions and runs its calls.
 * More gateways spread more volunteers; each holds at most SESSION_LIMITS.sessionsPerGateway
 * sessions. Changing the count moves volunteers' calls and next sessions (nothing durable lives
 * in a gateway); an open session stays where it is until it reconnects, and its gateway's
 * re-offer pass still finds it work.
 */
/** Gateways when `GATEWAY_COUNT` is unset or unusable, and the most it may ask for. */
const DEFAULT_GATEWAYS = 16;
const MAX_GATEWAYS = 1024;

type GatewayApi = Pick<GatewayObject, "fetch" | "run" | "jobStarted" | "sessions" | "standingChanged">;

/**
 * How many gateways the `GATEWAY_COUNT` var asks for: a whole number from 1 to 1024. Anything
 * else uses the default, with `problem` saying why (the deep health check reports it).
 */
export function gatewaySetting(env: { GATEWAY_COUNT?: string }): { count: number; problem?: string } {
  const value = env.GATEWAY_COUNT;
  if (value === undefined || value.trim() === "") return { count: DEFAULT_GATEWAYS };
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1 && n <= MAX_GATEWAYS) return { count: n };
  return {
    count: DEFAULT_GATEWAYS,
    problem: `GATEWAY_COUNT is ${JSON.stringify(value)}, not a whole number from 1 to ${MAX_GATEWAYS}: ${DEFAULT_GATEWAYS} gateways are used`,
  };
}

/** FNV-1a of the volunteer id modulo the gateway count, so a volunteer's gateway needs no lookup. */
export function gatewayIndex(volunteer: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < volunteer.length; i++) h = Math.imul(h ^ volunteer.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/** The gateway object of index `i`. */
export const gatewayAt = (env: Env, i: number) => env.GATEWAYS.get(objectId(env.GATEWAYS, `gateway:${i}`)) as unknown as GatewayApi;

/** The gateway object serving `volunteer`. */
export const gatewayStub = (env: Env, volunteer: string) => gatewayAt(env, gatewayIndex(volunteer, gatewaySetting(env).count));

/**
 * Tells every gateway a job became runnable, so each pushes work to its waiting sessions at
 * once. A gateway that misses it still finds the job on its next re-offer (GatewayObject.alarm).
 */
export async function tellGateways(env: Env, job: RunningJob): Promise<void> {
  await Promise.all(
    Array.from({ length: gatewaySetting(env).count }, (_, i) =>
      gatewayAt(env, i)
        .jobStarted(job)
        .catch((err) => log("warn", "telling a gateway a job started failed", { jobId: job.id, gateway: i, ...describeError(err) })),
    ),
  );
}

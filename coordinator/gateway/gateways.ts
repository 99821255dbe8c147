import type { GatewayObject } from "../objects/gateway-object.ts";
import type { RunningJob } from "../objects/grid-object.ts";
import { describeError, log } from "../observe/log.ts";

/**
 * Gateways between volunteers and jobs: a volunteer always talks to the same one of
 * `GATEWAY_COUNT` objects (by a hash of its id), which holds its sessions and runs its calls.
 * More gateways spread more volunteers; each holds at most SESSION_LIMITS.sessionsPerGateway
 * sessions. Changing the count only moves volunteers' next sessions elsewhere (nothing durable
 * lives in a gateway).
 */
export const GATEWAY_COUNT = 16;

type GatewayApi = Pick<GatewayObject, "fetch" | "run" | "jobStarted" | "sessions">;

/** FNV-1a of the volunteer id, so a volunteer's gateway needs no lookup. */
export function gatewayIndex(volunteer: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < volunteer.length; i++) h = Math.imul(h ^ volunteer.charCodeAt(i), 0x01000193);
  return (h >>> 0) % GATEWAY_COUNT;
}

const byIndex = (env: Env, i: number) => env.GATEWAYS.get(env.GATEWAYS.idFromName(`gateway:${i}`)) as unknown as GatewayApi;

/** The gateway object serving `volunteer`. */
export const gatewayStub = (env: Env, volunteer: string) => byIndex(env, gatewayIndex(volunteer));

/**
 * Tells every gateway a job became runnable, so each pushes work to its waiting sessions at
 * once. A gateway that misses it still finds the job on its next re-offer (GatewayObject.alarm).
 */
export async function tellGateways(env: Env, job: RunningJob): Promise<void> {
  await Promise.all(
    Array.from({ length: GATEWAY_COUNT }, (_, i) =>
      byIndex(env, i)
        .jobStarted(job)
        .catch((err) => log("warn", "telling a gateway a job started failed", { jobId: job.id, gateway: i, ...describeError(err) })),
    ),
  );
}

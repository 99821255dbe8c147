import { pathId, rpc, type ConnectionOptions } from "./connection.ts";
import type { BatchResultsAnswer, HeartbeatAnswer, LeaseAnswer, LeasesAnswer, VolunteerAnswer } from "./responses.ts";
import { expectOk, readJson } from "./transport.ts";

/** One computed output, for {@link VolunteerClient.submitResults}. */
export interface ShardResult {
  leaseId: string;
  output: unknown;
}

/**
 * `POST /v1/volunteers`: registers a new volunteer identity (no auth needed).
 * @example const me = await registerVolunteer({ url }); const v = volunteerClient({ url, token: me.token });
 */
export async function registerVolunteer(options: ConnectionOptions) {
  return readJson<VolunteerAnswer>(await rpc(options).v1.volunteers.$post({ json: {} }));
}

/**
 * The volunteer side of the contract for one registered identity: lease work, hand in
 * outputs (singly or batched), keep long leases alive, give leases back.
 */
export function volunteerClient(options: ConnectionOptions & { token: string }) {
  const api = rpc(options, options.token);
  const lease = api.v1.leases[":id"];
  const param = (id: string) => ({ param: { id: pathId(id, "lease id") }, json: {} });

  return {
    /** `POST /v1/leases`: up to `max` (1..64) leases; an empty list means no work now. */
    lease: async (max = 1): Promise<LeaseAnswer[]> => (await readJson<LeasesAnswer>(await api.v1.leases.$post({ json: { max } }))).leases,

    /** `POST /v1/leases/:id/result`: one output (answer `202`). */
    submitResult: async (leaseId: string, output: unknown) => expectOk(await lease.result.$post({ param: param(leaseId).param, json: { output } })),

    /** `POST /v1/results`: up to 64 outputs at once; one status per entry, in order. */
    submitResults: async (results: ShardResult[]) => readJson<BatchResultsAnswer>(await api.v1.results.$post({ json: { results } })),

    /** `POST /v1/leases/:id/heartbeat`: extends the lease; answers its new `expiresAt`. */
    heartbeat: async (leaseId: string) => readJson<HeartbeatAnswer>(await lease.heartbeat.$post(param(leaseId))),

    /** `POST /v1/leases/:id/release`: gives the shard back to the queue. */
    release: async (leaseId: string, init: { keepalive?: boolean } = {}) => readJson<unknown>(await lease.release.$post(param(leaseId), { init }), "any"),
  };
}

/** The client {@link volunteerClient} returns. */
export type VolunteerClient = ReturnType<typeof volunteerClient>;

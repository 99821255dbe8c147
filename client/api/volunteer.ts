import type { KernelFailure } from "../../shared/schemas.ts";
import { pathId, rpc, type ConnectionOptions } from "./connection.ts";
import { ColmeiaError } from "./errors.ts";
import { hasList, isVolunteerAnswer } from "./guards.ts";
import type { BatchResultsAnswer, HeartbeatAnswer, LeaseAnswer, LeasesAnswer, VolunteerAnswer } from "./responses.ts";
import { expectOk, readJson, transportSend, unreachable } from "./transport.ts";

/** One result for {@link VolunteerClient.submitResults}: the kernel's `output`, or why it failed on this shard. */
export type ShardResult = { leaseId: string } & ({ output: unknown; error?: undefined } | { error: KernelFailure; output?: undefined });

/** Per-call options: `keepalive` lets the call outlive a closing page (`fetch`'s keepalive). */
export interface CallOptions {
  keepalive?: boolean;
}

/**
 * `POST /v1/volunteers`: registers a new volunteer identity (no auth needed).
 * @example const me = await registerVolunteer({ url }); const v = volunteerClient({ url, token: me.token });
 */
export async function registerVolunteer(options: ConnectionOptions): Promise<VolunteerAnswer> {
  return readJson<VolunteerAnswer>(await rpc(options).v1.volunteers.$post({ json: {} }), isVolunteerAnswer);
}

/**
 * The volunteer side of the contract for one registered identity: lease work, hand in
 * outputs (singly or batched), keep long leases alive, give leases back, fetch what a lease
 * names (a published kernel's module, a dataset shard).
 */
export function volunteerClient(options: ConnectionOptions & { token: string }) {
  const api = rpc(options, options.token);
  const lease = api.v1.leases[":id"];
  const param = (id: string) => ({ param: { id: pathId(id, "lease id") }, json: {} });
  const init = (call: CallOptions) => ({ init: { keepalive: call.keepalive } as RequestInit });

  return {
    /** `POST /v1/leases`: up to `max` (1..64) leases; an empty list means no work now. */
    lease: async (max = 1): Promise<LeaseAnswer[]> => {
      const { leases } = await readJson<LeasesAnswer>(await api.v1.leases.$post({ json: { max } }), hasList("leases"));
      return leases;
    },

    /** `POST /v1/leases/:id/result`: one output (answer `202`). */
    submitResult: async (leaseId: string, output: unknown) => expectOk(await lease.result.$post({ param: param(leaseId).param, json: { output } })),

    /** `POST /v1/results`: up to 64 results at once; one status per entry, in order. */
    submitResults: async (results: ShardResult[], call: CallOptions = {}) =>
      readJson<BatchResultsAnswer>(await api.v1.results.$post({ json: { results } }, init(call)), hasList("results")),

    /** `POST /v1/leases/:id/heartbeat`: extends the lease; answers its new `expiresAt`. */
    heartbeat: async (leaseId: string) => readJson<HeartbeatAnswer>(await lease.heartbeat.$post(param(leaseId))),

    /** `POST /v1/leases/:id/release`: gives the shard back to the queue. */
    release: async (leaseId: string, call: CallOptions = {}) => readJson<unknown>(await lease.release.$post(param(leaseId), init(call)), "any"),

    /** `GET /v1/volunteers/me`: this volunteer's credit and standing. */
    me: async () => readJson<Record<string, unknown>>(await api.v1.volunteers.me.$get()),

    /**
     * The bytes at `url` (a lease's `module.url` or `inputUrl`), fetched with this volunteer's
     * token. The token goes to the coordinator's origin only: any other origin is refused
     * (`code`, status 400) before a request is made.
     */
    bytes: async (url: string, code = "foreign_url", timeoutMs = options.timeoutMs): Promise<Uint8Array> => {
      const base = new URL(options.url);
      const target = new URL(url, base);
      if (target.origin !== base.origin) throw new ColmeiaError(400, code, `${url} is not on the coordinator's origin ${base.origin}`);
      const send = transportSend({ ...options, timeoutMs });
      const res = await send(target, () => ({ method: "GET", headers: { authorization: `Bearer ${options.token}` } }));
      if (!res.ok) await expectOk(res); // throws the contract's error
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (error) {
        throw unreachable(target, error);
      }
    },
  };
}

/** The client {@link volunteerClient} returns. */
export type VolunteerClient = ReturnType<typeof volunteerClient>;

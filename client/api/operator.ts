import { rpc, type ConnectionOptions } from "./connection.ts";
import { isDeepHealth } from "./guards.ts";
import type { DeepHealthAnswer } from "./responses.ts";
import { readJson } from "./transport.ts";

/**
 * Calls for a grid's operators, with the operator token (`METRICS_TOKEN`) when the coordinator
 * sets one.
 * @example const { verdict } = await operatorClient({ url, token: process.env.COLMEIA_METRICS_TOKEN }).deepHealth();
 */
export function operatorClient(options: ConnectionOptions & { token?: string }) {
  const api = rpc(options, options.token);
  return {
    /**
     * `GET /v1/health/deep`: every check (bindings, a job round trip, storage headroom, secrets)
     * and a verdict. A `failing` verdict comes with status 503 and is answered like any other.
     */
    deepHealth: async (): Promise<DeepHealthAnswer> => {
      return readJson<DeepHealthAnswer>(await api.v1.health.deep.$get(), isDeepHealth, [503]);
    },
  };
}

import {
  createKernelPool,
  createMemoryOutbox,
  createModuleLoader,
  createSessionApi,
  createVolunteerLoop,
  memoryIdentity,
  type Identity,
  type Lease,
  type VolunteerEvent,
  type VolunteerLoop,
} from "../volunteer/index.ts";
import { nodeKernelWorker } from "./kernel-thread.ts";

/** Options of {@link startNodeVolunteer}. */
export interface NodeVolunteerOptions {
  /** Coordinator URL. */
  url: string;
  /** Worker threads, i.e. shards computed at once. */
  threads: number;
  /** Share of time each thread computes, in (0, 1]. */
  dutyCycle?: number;
  /** One of the operator's VOLUNTEER_KEYS: registers a volunteer the operator vouches for (trusted from the start). */
  key?: string;
  onEvent?: (event: VolunteerEvent) => void;
}

/** A running Node volunteer: one identity, `threads` worker threads. */
export interface NodeVolunteer {
  identity: Identity;
  loop: VolunteerLoop;
  /** Stops leasing, gives back queued leases, lets running shards finish and hands in their results. */
  stop(graceMs?: number): Promise<void>;
  /** Kills the threads at once and gives back every lease still held. */
  abandon(): Promise<void>;
}

/**
 * Registers a volunteer and starts computing on worker threads, with the scheduling core the
 * browser page uses (lease batching, batched results, heartbeats, backoff). Each call is a new
 * volunteer identity. Rejects when the coordinator cannot be reached to register.
 * @example
 * const v = await startNodeVolunteer({ url: "http://127.0.0.1:8787", threads: 4 });
 * process.once("SIGINT", () => v.stop());
 */
export async function startNodeVolunteer(options: NodeVolunteerOptions): Promise<NodeVolunteer> {
  // Leases, results, heartbeats and releases over one WebSocket session (HTTP when none can be opened).
  const api = createSessionApi({
    baseUrl: options.url,
    identity: memoryIdentity(),
    ...(options.key !== undefined && { fetch: registeringWith(options.key) }),
  });
  const identity = await api.identity();
  const pool = createKernelPool({ spawn: nodeKernelWorker, size: options.threads });
  const loop = createVolunteerLoop({
    api,
    pool,
    // Published kernels' modules, fetched once each and kept in memory for this process's life.
    modules: createModuleLoader({ api }),
    outbox: createMemoryOutbox(),
    threads: options.threads,
    dutyCycle: options.dutyCycle,
    onEvent: options.onEvent,
  });
  loop.start();

  // Leases held when stopping began (queued and running). The loop gives queued ones back
  // without waiting for the answer; releasing them again here, awaited, makes sure the
  // coordinator heard before the process exits. Releasing a finished lease is refused, harmlessly.
  const held = new Map<string, Lease>();
  const remember = () => loop.heldLeases().forEach((lease) => held.set(lease.id, lease));
  const releaseHeld = () => Promise.allSettled([...held.keys()].map((id) => api.release(id)));
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000) =>
    (stopping ??= (async () => {
      remember();
      await loop.stop(graceMs);
      await releaseHeld();
      pool.close();
      api.close?.();
    })());
  return {
    identity,
    loop,
    stop,
    async abandon() {
      remember();
      // Closing the pool makes every computation in flight fail, so the loop lets go of them.
      pool.close();
      await Promise.race([stop(0), new Promise((r) => setTimeout(r, 2000))]);
      await releaseHeld();
      api.close?.();
    },
  };
}

/**
 * A fetch that sends the operator's volunteer key as the body of registration (`POST
 * /v1/volunteers`, also when the API client registers afresh after a 401); every other call as is.
 */
function registeringWith(key: string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const registering = init?.method === "POST" && url.pathname.endsWith("/v1/volunteers");
    return fetch(input, registering ? { ...init, body: JSON.stringify({ key }) } : init);
  };
}

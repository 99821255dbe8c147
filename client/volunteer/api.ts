import { ColmeiaError } from "../api/errors.ts";
import { isLease } from "../api/guards.ts";
import { registerVolunteer, volunteerClient, type VolunteerClient } from "../api/volunteer.ts";
import type { BatchResultEntry, Identity, Lease, WireResult } from "./types.ts";

/**
 * Any failure of a call as the volunteer core handles it: a {@link ColmeiaError} as thrown, and
 * anything else (a bug, a broken fetch) as a retryable one, so an unexpected throw never drops
 * a computed result or a lease.
 */
export function callError(error: unknown): ColmeiaError {
  if (error instanceof ColmeiaError) return error;
  return new ColmeiaError(0, "unreachable", `unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
}

/** Where a volunteer keeps its identity between runs (idb in the page, a file for the CLI). */
export interface IdentityStore {
  load(): Promise<Identity | undefined>;
  save(identity: Identity): Promise<void>;
}

/** What the coordinator may tell a volunteer about itself (`GET /v1/volunteers/me`). */
export interface VolunteerInfo {
  id?: string;
  credit?: number;
  [key: string]: unknown;
}

/**
 * The volunteer half of the HTTP contract (README, "HTTP API"; /openapi.json), as the scheduling
 * core uses it: the seam the fake coordinator and the session client plug into. Every failure is
 * a {@link ColmeiaError}.
 */
export interface VolunteerApi {
  /** This volunteer's identity, registering once (`POST /v1/volunteers`) if none is stored. */
  identity(): Promise<Identity>;
  /** The identity in use once known, synchronously (for keepalive requests on page close). */
  currentIdentity(): Identity | undefined;
  lease(max: number): Promise<Lease[]>;
  /** `POST /v1/results`: each entry carries the kernel's `output`, or `error` when the kernel failed. */
  submit(results: WireResult[]): Promise<BatchResultEntry[]>;
  /** The bytes of a published kernel's module (`lease.module.url`, on the coordinator's origin only). */
  module(url: string): Promise<Uint8Array>;
  /** The bytes of a dataset shard (`lease.inputUrl`, a path on the coordinator's origin only). */
  input(url: string): Promise<Uint8Array>;
  heartbeat(leaseId: string): Promise<{ expiresAt: number }>;
  release(leaseId: string): Promise<void>;
  /** `GET /v1/volunteers/me`, or null when this coordinator does not offer it. */
  me(): Promise<VolunteerInfo | null>;
  /**
   * After `lease` answered nothing: the work the coordinator pushes to this volunteer's session
   * when a job starts ([] once `signal` aborts), or null when no push will come (plain HTTP:
   * poll again later). Rejects with a retryable ColmeiaError when the session drops meanwhile.
   */
  work?(signal: AbortSignal): Promise<Lease[] | null>;
  /** Closes what the API holds open (a session's WebSocket). */
  close?(): void;
}

/** Options of {@link createVolunteerApi}. */
export interface VolunteerApiOptions {
  /** Coordinator origin, e.g. `http://127.0.0.1:8787` (the page passes `location.origin`). */
  baseUrl: string;
  identity: IdentityStore;
  fetch?: typeof fetch;
  /** Per-request time limit in ms. Default 20 000. */
  timeoutMs?: number;
  /** Time limit in ms of a dataset shard's download (`lease.inputUrl`), which may be large. Default 120 000. */
  inputTimeoutMs?: number;
}

/**
 * Creates the volunteer API client over the typed client (client/api). A 401 (e.g. the
 * coordinator's state was wiped) registers a fresh identity once and retries. A `429` or `503`
 * is not waited out here: it is thrown with its `retryAfterMs`, and the core's backoff decides.
 * @example
 * const api = createVolunteerApi({ baseUrl: "http://127.0.0.1:8787", identity: memoryIdentity() });
 * const leases = await api.lease(4);
 */
export function createVolunteerApi(opts: VolunteerApiOptions): VolunteerApi {
  const connection = { url: opts.baseUrl, fetch: opts.fetch, retries: 0, timeoutMs: opts.timeoutMs ?? 20_000 };
  const inputTimeoutMs = opts.inputTimeoutMs ?? 120_000;
  let current: Promise<Identity> | undefined;
  let known: Identity | undefined;
  let client: { token: string; calls: VolunteerClient } | undefined;

  async function register(): Promise<Identity> {
    const { id, token } = await registerVolunteer(connection);
    const identity = { id, token };
    await opts.identity.save(identity);
    return identity;
  }

  // Remembers the identity in use; a failed load or registration (coordinator down) must not stick.
  function remember(pending: Promise<Identity>): Promise<Identity> {
    current = pending;
    pending
      .then((identity) => (known = identity))
      .catch(() => {
        if (current === pending) current = undefined;
      });
    return pending;
  }

  function identity(): Promise<Identity> {
    return current ?? remember(opts.identity.load().then((stored) => stored ?? register()));
  }

  function callsFor({ token }: Identity): VolunteerClient {
    if (client?.token !== token) client = { token, calls: volunteerClient({ ...connection, token }) };
    return client.calls;
  }

  /** Runs `call` with this volunteer's client; on a 401, registers afresh (once for all callers) and runs it again. */
  async function authed<T>(call: (calls: VolunteerClient) => Promise<T>): Promise<T> {
    const used = await identity();
    try {
      return await call(callsFor(used));
    } catch (error) {
      if (!(error instanceof ColmeiaError) || error.status !== 401) throw error;
      if ((await identity()) === used) remember(register());
      return call(callsFor(await identity()));
    }
  }

  return {
    identity,
    currentIdentity: () => known,
    lease: async (max) => (await authed((c) => c.lease(max))).filter(isLease),
    submit: async (results) => (await authed((c) => c.submitResults(results))).results,
    module: (url) => authed((c) => c.bytes(url, "foreign_module")),
    input: (url) => authed((c) => c.bytes(url, "foreign_input", inputTimeoutMs)),
    async heartbeat(leaseId) {
      return expiryOf(await authed((c) => c.heartbeat(leaseId)));
    },
    async release(leaseId) {
      await authed((c) => c.release(leaseId));
    },
    async me() {
      try {
        return await authed((c) => c.me());
      } catch (error) {
        if (error instanceof ColmeiaError && (error.status === 404 || error.status === 405)) return null;
        throw error;
      }
    },
  };
}

/** A heartbeat's answer as the core reads it: the lease's new expiry, or now when the answer did not say. */
export function expiryOf(answer: unknown): { expiresAt: number } {
  const expiresAt = (answer as { expiresAt?: unknown } | null | undefined)?.expiresAt;
  return { expiresAt: typeof expiresAt === "number" ? expiresAt : Date.now() };
}

/** An IdentityStore that forgets on exit: for tests and throwaway volunteers. */
export function memoryIdentity(initial?: Identity): IdentityStore {
  let stored = initial;
  return {
    load: async () => stored,
    save: async (identity) => void (stored = identity),
  };
}

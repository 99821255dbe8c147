import type { BatchResultEntry, Identity, Lease, WireResult } from "./types.ts";

/**
 * A failed call: `status` is the HTTP status, or 0 when the coordinator could not be reached.
 * `retryable` says whether trying again later may succeed (network, 5xx, 429).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterMs?: number;
  // No parameter properties: this core must also load under Node's type stripping.
  constructor(status: number, code: string, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
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

/** The volunteer half of the HTTP contract (README, "HTTP API"; /openapi.json). */
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
   * poll again later). Rejects with a retryable ApiError when the session drops meanwhile.
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
 * Creates the volunteer API client. A 401 on a lease call (e.g. the coordinator's state was
 * wiped) registers a fresh identity once and retries.
 * @example
 * const api = createVolunteerApi({ baseUrl: "http://127.0.0.1:8787", identity: memoryIdentity() });
 * const leases = await api.lease(4);
 */
export function createVolunteerApi(opts: VolunteerApiOptions): VolunteerApi {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const inputTimeoutMs = opts.inputTimeoutMs ?? 120_000;
  let current: Promise<Identity> | undefined;
  let known: Identity | undefined;

  async function call(method: string, path: string, body?: unknown, token?: string, bytes = false, limitMs = timeoutMs): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await doFetch(new URL(path, opts.baseUrl), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(limitMs),
      });
    } catch (err) {
      throw new ApiError(0, "unreachable", `coordinator unreachable: ${(err as Error).message ?? err}`);
    }
    if (bytes && res.ok) {
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        throw new ApiError(0, "unreachable", `download of ${path} broke off: ${(err as Error).message ?? err}`);
      }
    }
    const text = await res.text().catch(() => "");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {}
    if (!res.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new ApiError(
        res.status,
        typeof error?.code === "string" ? error.code : `http_${res.status}`,
        typeof error?.message === "string" ? error.message : `${method} ${path} answered ${res.status}`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    return json;
  }

  async function register(): Promise<Identity> {
    const body = (await call("POST", "/v1/volunteers", {})) as Partial<Identity> | undefined;
    if (typeof body?.id !== "string" || typeof body.token !== "string") {
      throw new ApiError(502, "bad_response", "POST /v1/volunteers did not answer {id, token}");
    }
    const identity = { id: body.id, token: body.token };
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

  async function authed(method: string, path: string, body?: unknown, bytes = false, limitMs = timeoutMs): Promise<unknown> {
    const used = await identity();
    try {
      return await call(method, path, body, used.token, bytes, limitMs);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      if ((await identity()) === used) remember(register());
      return call(method, path, body, (await identity()).token, bytes, limitMs);
    }
  }

  /** A path on the coordinator's origin for `url`: the volunteer token goes there only, whatever URL a lease names. */
  function ownPath(url: string, what: string, code: string): string {
    const target = new URL(url, opts.baseUrl);
    if (target.origin !== new URL(opts.baseUrl).origin) {
      throw new ApiError(400, code, `${what} ${url} is not on the coordinator's origin`);
    }
    return target.pathname + target.search;
  }

  return {
    identity,
    currentIdentity: () => known,
    async lease(max) {
      const body = (await authed("POST", "/v1/leases", { max })) as { leases?: unknown } | undefined;
      if (!Array.isArray(body?.leases)) throw new ApiError(502, "bad_response", "POST /v1/leases did not answer {leases}");
      return body.leases.filter(isLease);
    },
    async submit(results) {
      const body = (await authed("POST", "/v1/results", { results })) as { results?: unknown } | undefined;
      if (!Array.isArray(body?.results)) throw new ApiError(502, "bad_response", "POST /v1/results did not answer {results}");
      return body.results as BatchResultEntry[];
    },
    async module(url) {
      return (await authed("GET", ownPath(url, "kernel module", "foreign_module"), undefined, true)) as Uint8Array;
    },
    async input(url) {
      return (await authed("GET", ownPath(url, "shard input", "foreign_input"), undefined, true, inputTimeoutMs)) as Uint8Array;
    },
    async heartbeat(leaseId) {
      const body = (await authed("POST", `/v1/leases/${encodeURIComponent(leaseId)}/heartbeat`)) as { expiresAt?: unknown } | undefined;
      return { expiresAt: typeof body?.expiresAt === "number" ? body.expiresAt : Date.now() };
    },
    async release(leaseId) {
      await authed("POST", `/v1/leases/${encodeURIComponent(leaseId)}/release`);
    },
    async me() {
      try {
        return ((await authed("GET", "/v1/volunteers/me")) ?? {}) as VolunteerInfo;
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
        throw err;
      }
    },
  };
}

/** Whether `value` has what the core reads of a lease (coordinators of other versions may differ). */
export function isLease(value: unknown): value is Lease {
  const l = value as Partial<Lease> | null;
  return typeof l === "object" && l !== null && typeof l.id === "string" && typeof l.kernel === "string" && typeof l.expiresAt === "number";
}

/** An IdentityStore that forgets on exit: for tests and throwaway volunteers. */
export function memoryIdentity(initial?: Identity): IdentityStore {
  let stored = initial;
  return {
    load: async () => stored,
    save: async (identity) => void (stored = identity),
  };
}

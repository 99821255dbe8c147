import { ColmeiaError } from "../api/errors.ts";
import type { VolunteerApi } from "./api.ts";
import type { BatchResultEntry, KernelFailure, KernelModuleRef, Lease } from "./types.ts";

/** Options of {@link createFakeCoordinator}. */
export interface FakeCoordinatorOptions {
  kernel?: string;
  /** One shard per input. */
  inputs?: unknown[];
  ttlMs?: number;
  now?: () => number;
  /** A published kernel's module: leases carry `module` and `api.module(url)` answers `bytes`. */
  module?: { ref: KernelModuleRef; bytes: Uint8Array };
  /** Makes every shard a dataset shard: leases carry `inputUrl` and `api.input(url)` answers these bytes. */
  inputBytes?: (input: unknown) => Uint8Array;
}

/**
 * An in-memory stand-in for the coordinator's volunteer endpoints, for unit tests of the
 * scheduling core (the page's browser tests use the real coordinator). Set `down` to make
 * every call fail as if the network dropped.
 */
export function createFakeCoordinator(opts: FakeCoordinatorOptions = {}) {
  const { kernel = "primes.count", ttlMs = 60_000, now = Date.now } = opts;
  const queue = (opts.inputs ?? []).map((input, i) => ({ shardId: `s${i}`, input }));
  const leases = new Map<string, Lease & { state: "held" | "submitted" | "released" }>();
  const outputs = new Map<string, unknown>();
  const errors = new Map<string, KernelFailure>();
  const calls: string[] = [];
  let seq = 0;
  const fake = {
    down: false,
    calls,
    leases,
    /** Accepted outputs by shard id. */
    outputs,
    /** Kernel errors volunteers reported, by shard id. */
    errors,
    /** What `api.input` answers instead of a shard's bytes, by shard id: an HTTP status, or 0 for a network failure. */
    inputStatus: new Map<string, number>(),
    /** Adds shards to the queue. */
    add(...inputs: unknown[]) {
      for (const input of inputs) queue.push({ shardId: `s${queue.length + outputs.size + leases.size}`, input });
    },
    api: undefined as unknown as VolunteerApi,
  };
  const guard = (call: string) => {
    calls.push(call);
    if (fake.down) throw new ColmeiaError(0, "unreachable", "coordinator unreachable: fake is down");
  };
  const held = (id: string) => {
    const lease = leases.get(id);
    if (!lease) throw new ColmeiaError(404, "not_found", "unknown lease");
    if (lease.state !== "held" || lease.expiresAt < now()) throw new ColmeiaError(410, "gone", "lease expired");
    return lease;
  };
  fake.api = {
    identity: async () => ({ id: "v1", token: "t1" }),
    currentIdentity: () => ({ id: "v1", token: "t1" }),
    async lease(max) {
      guard(`lease:${max}`);
      // Like the coordinator, a lease past its expiry gives its shard back to be leased again.
      for (const lease of leases.values()) {
        if (lease.state === "held" && lease.expiresAt < now()) {
          lease.state = "released";
          queue.push({ shardId: lease.shardId, input: lease.input });
        }
      }
      return queue.splice(0, max).map(({ shardId, input }) => {
        const lease: Lease = { id: `l${++seq}`, jobId: "j1", shardId, kernel, params: {}, input, expiresAt: now() + ttlMs };
        if (opts.module) lease.module = opts.module.ref;
        if (opts.inputBytes) lease.inputUrl = `/v1/leases/${lease.id}/input`;
        leases.set(lease.id, { ...lease, state: "held" });
        return lease;
      });
    },
    async submit(results) {
      guard(`submit:${results.length}`);
      return results.map(({ leaseId, output, error }): BatchResultEntry => {
        const lease = leases.get(leaseId);
        if (lease?.state === "submitted") return { leaseId, status: 409 };
        try {
          held(leaseId).state = "submitted";
        } catch (err) {
          const e = err as ColmeiaError;
          return { leaseId, status: e.status, error: { code: e.code, message: e.message } };
        }
        if (error) errors.set(lease!.shardId, error);
        else outputs.set(lease!.shardId, output);
        return { leaseId, status: 202 };
      });
    },
    async heartbeat(leaseId) {
      guard(`heartbeat:${leaseId}`);
      const lease = held(leaseId);
      lease.expiresAt = now() + ttlMs;
      return { expiresAt: lease.expiresAt };
    },
    async release(leaseId) {
      guard(`release:${leaseId}`);
      const lease = held(leaseId);
      lease.state = "released";
      queue.unshift({ shardId: lease.shardId, input: lease.input });
    },
    async module(url) {
      guard(`module:${url}`);
      if (!opts.module || url !== opts.module.ref.url) throw new ColmeiaError(404, "kernel_not_found", "no such kernel");
      return opts.module.bytes.slice();
    },
    async input(url) {
      guard(`input:${url}`);
      const id = /^\/v1\/leases\/([^/]+)\/input$/.exec(url)?.[1];
      const lease = id === undefined ? undefined : leases.get(id);
      if (!opts.inputBytes || !lease?.inputUrl) throw new ColmeiaError(404, "not_found", "no such lease input");
      const status = fake.inputStatus.get(lease.shardId);
      if (status === 0) throw new ColmeiaError(0, "unreachable", "coordinator unreachable: fake input dropped");
      if (status !== undefined) throw new ColmeiaError(status, `http_${status}`, `input answered ${status}`);
      held(lease.id);
      return opts.inputBytes(lease.input);
    },
    me: async () => null,
  };
  return fake;
}

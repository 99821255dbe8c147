import type { BatchResultEntry, KernelFailure, KernelModuleRef, Lease } from "../../shared/schemas.ts";
import type { ShardResult } from "../api/volunteer.ts";

export type { BatchResultEntry, KernelFailure, KernelModuleRef, Lease };

/** One entry of `POST /v1/results`: the kernel's output, or why the kernel failed on this shard. */
export type WireResult = ShardResult;

/** What a volunteer needs to call the lease endpoints: from `POST /v1/volunteers`. */
export interface Identity {
  id: string;
  token: string;
}

/**
 * A computed result waiting to be accepted by the coordinator: the kernel's `output`, or the
 * `error` it failed with (thrown, out of time, out of memory), which is a result too.
 */
export interface PendingResult {
  leaseId: string;
  jobId: string;
  shardId: string;
  kernel: string;
  output?: unknown;
  error?: KernelFailure;
  /** When it was computed (epoch ms). */
  computedAt: number;
  /** The lease's expiry as last known (epoch ms). */
  expiresAt: number;
}

/** A lease this volunteer holds but has not finished: queued or being computed. */
export interface HeldLease {
  lease: Lease;
  /** Local time the lease was last granted or extended. */
  renewedAt: number;
  /** Lease lifetime as seen at the last grant or extension, in ms. */
  ttlMs: number;
  /** Set when computing began (local epoch ms). */
  startedAt?: number;
  /** The coordinator no longer honours it (expired, cancelled): its result will not be sent. */
  lost?: boolean;
}

/** How the loop last got on with the coordinator. */
export type Connection = "connecting" | "online" | "offline";

/** A snapshot of the loop for status displays. */
export interface VolunteerStatus {
  state: "stopped" | "running" | "paused";
  connection: Connection;
  /** True while the coordinator has no work for us (we poll with backoff). */
  waitingForWork: boolean;
  /** When the next lease attempt happens, while waiting or offline (epoch ms). */
  retryAt?: number;
  threads: number;
  dutyCycle: number;
  /** Leases being computed right now. */
  running: HeldLease[];
  /** Leases held and waiting for a free thread. */
  queued: number;
  /** Results computed but not yet answered by the coordinator. */
  pending: number;
  /** Counters since this loop was created. */
  computed: number;
  accepted: number;
  rejected: number;
  kernelErrors: number;
  lastError?: string;
}

/** Why a shard has no output: see RunOutcome; `module` when its published code could not be had. */
export type KernelErrorReason = "error" | "timeout" | "crash" | "unsupported" | "module";

/** Something that happened, for counters, persistence and logs. */
export type VolunteerEvent =
  | { type: "computed"; lease: Lease; ms: number }
  | { type: "accepted"; leaseIds: string[] }
  | { type: "rejected"; leaseId: string; status: number; message: string }
  /** `reported`: the error went to the outbox as this shard's result; else the shard was handed back. */
  | { type: "kernel-error"; lease: Lease; reason: KernelErrorReason; message: string; reported: boolean }
  | { type: "lease-lost"; leaseId: string; status: number }
  | { type: "error"; message: string }
  | { type: "change" };

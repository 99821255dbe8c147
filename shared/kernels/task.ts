import { LIMITS } from "../limits.ts";

/** A published kernel's code as a worker receives it: fetched and checked by the host. */
export interface KernelModule {
  language: "js" | "wasm";
  /** Hex SHA-256 of `bytes`, verified by the host; workers cache compiled code under it. */
  sha256: string;
  /** The JS source (UTF-8) or the .wasm file. */
  bytes: Uint8Array;
}

/** One unit of kernel work: what a lease asks to compute, as it crosses into a kernel worker. */
export interface KernelTask {
  kernel: string;
  params: unknown;
  input: unknown;
  /** Present for published kernels (`k_...`); built-in kernels are bundled with the worker. */
  module?: KernelModule;
  /** The shard's time cap in ms, for runtimes that can stop a kernel themselves (QuickJS). */
  timeLimitMs?: number;
}

/** A kernel's answer across a worker boundary (classes do not cross it; plain values do). */
export type ComputeReply =
  | { ok: true; output: unknown }
  /** `cannotRun`: the volunteer, not the kernel, is at fault (unknown built-in): hand the shard back. */
  | { ok: false; error: string; cannotRun?: boolean };

/** Cuts a kernel error message to what the coordinator takes (`LIMITS.kernelErrorChars`). */
export function kernelErrorMessage(message: string): string {
  const max = LIMITS.kernelErrorChars;
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}

/** The error of a shard stopped at its time cap: the same words from every runtime. */
export function timeLimitError(ms: number): Error {
  const error = new Error(`the kernel exceeded the ${ms} ms shard time limit`);
  error.name = "TimeoutError";
  return error;
}

/**
 * How a thrown value reads in a kernel error: `Name: message` for errors, else its text.
 * Never throws, whatever a hostile kernel threw (getters that throw, revoked proxies...).
 */
export function describeThrown(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return kernelErrorMessage(`${thrown.name}: ${thrown.message}`);
    return kernelErrorMessage(String(thrown));
  } catch {
    return "the kernel threw a value that cannot be shown";
  }
}

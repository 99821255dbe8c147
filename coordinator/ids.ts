import { randomHex } from "../shared/canonical.ts";

/** Lease ids are `<jobId>.<shard>.<nonce>`. */
const LEASE_ID = /^(j_[A-Za-z0-9]{10,40})\.(\d{1,12})\.[A-Za-z0-9_-]{8,24}$/;

/** Job id a lease id belongs to, or undefined if malformed. */
export function jobOfLease(leaseId: string): string | undefined {
  return LEASE_ID.exec(leaseId)?.[1];
}

/** The shard a lease id names, or undefined if malformed. A hint only: the lease's row says which shard it is. */
export function shardOfLease(leaseId: string): number | undefined {
  const m = LEASE_ID.exec(leaseId);
  return m ? Number(m[2]) : undefined;
}

/** A fresh job id. */
export function newJobId(): string {
  const alphabet = "abcdefghijkmnopqrstuvwxyz23456789";
  return `j_${[...crypto.getRandomValues(new Uint8Array(16))].map((b) => alphabet[b % alphabet.length]).join("")}`;
}

/** A fresh volunteer id. */
export function newVolunteerId(): string {
  return `v_${randomHex(12)}`;
}

import { randomHex } from "../shared/canonical.ts";

/** Job id a lease id belongs to (lease ids are `<jobId>.<shard>.<nonce>`), or undefined if malformed. */
export function jobOfLease(leaseId: string): string | undefined {
  const m = /^(j_[A-Za-z0-9]{10,40})\.\d{1,12}\.[A-Za-z0-9_-]{8,24}$/.exec(leaseId);
  return m?.[1];
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

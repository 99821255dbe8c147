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

/** A job id's characters: lower-case letters and digits without the look-alikes l, 0 and 1. */
const JOB_ID_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789";
/** Random bytes at or above this are drawn again: below it, `byte % 33` gives each character 7 chances in 231. */
const JOB_ID_BYTES_BELOW = 256 - (256 % JOB_ID_ALPHABET.length);

/** A fresh job id: `j_` and 16 characters, each of the 33 equally likely (about 81 bits). */
export function newJobId(): string {
  let id = "j_";
  while (id.length < 18) {
    for (const b of crypto.getRandomValues(new Uint8Array(24))) {
      if (b < JOB_ID_BYTES_BELOW && id.length < 18) id += JOB_ID_ALPHABET[b % JOB_ID_ALPHABET.length];
    }
  }
  return id;
}

/** A fresh volunteer id. */
export function newVolunteerId(): string {
  return `v_${randomHex(12)}`;
}

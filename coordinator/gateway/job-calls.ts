import type { BatchResultEntry } from "../../shared/schemas.ts";
import type { JobObject, SubmittedItem } from "../objects/job-object.ts";
import type { Standing } from "../objects/volunteer-object.ts";
import { jobStub } from "../stubs.ts";
import { Batcher } from "./batcher.ts";

export type LeaseAnswer = Awaited<ReturnType<JobObject["lease"]>>;

/** How volunteer calls reach job objects: one RPC per call, or batched per job (a gateway's). */
export interface JobCalls {
  lease(job: string, volunteer: string, max: number, standing: Standing): Promise<LeaseAnswer>;
  submit(job: string, volunteer: string, items: SubmittedItem[], standing: Standing): Promise<BatchResultEntry[]>;
}

/** One RPC per call. */
export const directCalls = (env: Env): JobCalls => ({
  lease: (id, volunteer, max, standing) => jobStub(env, id).lease(volunteer, max, standing),
  submit: (id, volunteer, items, standing) => jobStub(env, id).submit(volunteer, items, standing),
});

/** Most volunteers' calls carried in one batch to a job. */
const BATCH = 64;
/** Batchers kept for jobs; idle ones are dropped past this. */
const MAX_JOBS = 256;

/**
 * A gateway's calls to job objects, coalesced per job (see Batcher): every volunteer's lease and
 * result batch is still decided by the job object, for that volunteer, exactly as a lone call
 * would be (the job runs them one after another in its own atomic steps), so every contract rule
 * holds; the job object just sees about one call per round trip from this gateway, whatever the
 * number of volunteers behind it.
 */
export class BatchedCalls implements JobCalls {
  readonly #env: Env;
  readonly #jobs = new Map<string, { lease: Batcher<LeaseCall, LeaseAnswer>; submit: Batcher<SubmitCall, BatchResultEntry[]> }>();

  constructor(env: Env) {
    this.#env = env;
  }

  /** Calls sent to job objects and the volunteer calls they carried, over the batchers alive now. */
  get sent(): { calls: number; items: number } {
    const sum = { calls: 0, items: 0 };
    for (const b of this.#jobs.values()) {
      for (const s of [b.lease.sent, b.submit.sent]) (sum.calls += s.calls), (sum.items += s.items);
    }
    return sum;
  }

  #of(id: string) {
    let b = this.#jobs.get(id);
    if (!b) {
      if (this.#jobs.size >= MAX_JOBS) for (const [k, v] of this.#jobs) if (v.lease.idle && v.submit.idle) this.#jobs.delete(k);
      b = {
        lease: new Batcher((calls: LeaseCall[]) => jobStub(this.#env, id).leaseMany(calls), BATCH),
        submit: new Batcher((calls: SubmitCall[]) => jobStub(this.#env, id).submitMany(calls), BATCH),
      };
      this.#jobs.set(id, b);
    }
    return b;
  }

  lease(id: string, volunteer: string, max: number, standing: Standing): Promise<LeaseAnswer> {
    return this.#of(id).lease.call({ volunteer, max, standing });
  }

  submit(id: string, volunteer: string, items: SubmittedItem[], standing: Standing): Promise<BatchResultEntry[]> {
    return this.#of(id).submit.call({ volunteer, items, standing });
  }
}

export interface LeaseCall {
  volunteer: string;
  max: number;
  standing: Standing;
}

export interface SubmitCall {
  volunteer: string;
  items: SubmittedItem[];
  standing: Standing;
}

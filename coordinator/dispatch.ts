import type { Lease } from "../shared/schemas.ts";
import type { Standing } from "./objects/volunteer-object.ts";
import { gridStub, jobStub } from "./stubs.ts";

/** How long an isolate trusts its copy of the running-job list. */
const RUNNING_TTL_MS = 1000;
/** Most jobs one lease call asks before answering with what it has. */
const MAX_JOBS_TRIED = 8;

let running: { ids: string[]; at: number } | undefined;
/** Jobs with nothing to hand out right now → until when this isolate skips them. */
const idle = new Map<string, number>();

/** Forgets the cached running-job list (a job was created or ended in this isolate). */
export function invalidateRunning(): void {
  running = undefined;
}

async function runningJobs(env: Env, now: number): Promise<string[]> {
  if (!running || now - running.at > RUNNING_TTL_MS) {
    running = { ids: await gridStub(env).runningJobs(), at: now };
    for (const [id, until] of idle) if (until < now) idle.delete(id);
  }
  return running.ids;
}

/**
 * Finds work for a volunteer: asks running jobs, oldest first, for up to `max` leases. The grid
 * object is read at most once a second per isolate; the leases themselves come from the jobs'
 * own objects, so leasing scales with the number of jobs and never meets on one object.
 */
export async function leaseWork(env: Env, volunteer: string, max: number, standing: Standing): Promise<Lease[]> {
  const now = Date.now();
  const leases: Lease[] = [];
  let tried = 0;
  for (const id of await runningJobs(env, now)) {
    if (leases.length >= max || tried >= MAX_JOBS_TRIED) break;
    if ((idle.get(id) ?? 0) > now) continue;
    tried++;
    let got: Awaited<ReturnType<ReturnType<typeof jobStub>["lease"]>>;
    try {
      got = await jobStub(env, id).lease(volunteer, max - leases.length, standing);
    } catch (err) {
      // One failing job must not stop the grid: skip it for a moment and ask the next one.
      console.error(`lease from job ${id} failed`, err);
      idle.set(id, now + 2 * RUNNING_TTL_MS);
      continue;
    }
    leases.push(...got.leases);
    if (!got.running) {
      // Ended: drop it from the grid's list (a running job re-announces itself, see JobObject).
      idle.set(id, now + 2 * RUNNING_TTL_MS);
      await gridStub(env).jobEnded(id);
    } else if (!got.available) {
      idle.set(id, now + 250);
    }
  }
  return leases;
}

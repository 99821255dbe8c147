import { LIMITS } from "../shared/limits.ts";
import type { Lease } from "../shared/schemas.ts";
import type { Standing } from "./objects/volunteer-object.ts";
import { directCalls, type JobCalls, type LeaseAnswer } from "./gateway/job-calls.ts";
import { gridStub } from "./stubs.ts";
import { submitterWeights } from "./auth.ts";
import { byRunOrder, FairShare, groupByOwner } from "./fair-share.ts";
import type { RunningJob } from "./objects/grid-object.ts";

/** How long an isolate trusts its copy of the running-job list. */
const RUNNING_TTL_MS = 1000;
/** Most jobs one lease call asks before answering with what it has. */
const MAX_JOBS_TRIED = 8;

/** The running jobs, grouped by submitter once per refresh. */
let running: { byOwner: Map<string, RunningJob[]>; at: number } | undefined;
const fair = new FairShare();
/** What each job last said a volunteer holds there, for the grid-wide lease cap (this isolate's view). */
const holdings = new Map<string, Map<string, { n: number; at: number }>>();
/** A job's report of a volunteer's holdings counts this long (leases end by their hard deadline anyway). */
const HOLDING_TTL_MS = 60_000;
const MAX_VOLUNTEERS_TRACKED = 20_000;

/** Leases `volunteer` holds across the jobs that reported lately, other than `except`. */
function heldElsewhere(volunteer: string, except: string, now: number): number {
  let n = 0;
  for (const [job, h] of holdings.get(volunteer) ?? []) if (job !== except && now - h.at < HOLDING_TTL_MS) n += h.n;
  return n;
}

function recordHolding(volunteer: string, job: string, n: number, now: number): void {
  if (!holdings.has(volunteer) && holdings.size >= MAX_VOLUNTEERS_TRACKED) holdings.clear();
  const mine = holdings.get(volunteer) ?? new Map<string, { n: number; at: number }>();
  for (const [j, h] of mine) if (now - h.at >= HOLDING_TTL_MS) mine.delete(j);
  if (n > 0) mine.set(job, { n, at: now });
  else mine.delete(job);
  if (mine.size) holdings.set(volunteer, mine);
  else holdings.delete(volunteer);
}
/** Jobs with nothing to hand out right now → until when this isolate skips them. */
const idle = new Map<string, number>();

/** Forgets the cached running-job list (a job was created or ended in this isolate). */
export function invalidateRunning(): void {
  running = undefined;
}

async function runningJobs(env: Env, now: number): Promise<Map<string, RunningJob[]>> {
  if (!running || now - running.at > RUNNING_TTL_MS) {
    running = { byOwner: groupByOwner(await gridStub(env).runningJobs()), at: now };
    for (const [id, until] of idle) if (until < now) idle.delete(id);
  }
  return running.byOwner;
}

/**
 * A job became runnable (told by the grid through a gateway): it joins this isolate's copy of the
 * running list in the grid's own order (priority, then age), so dispatch finds it without a read.
 */
export function noteStarted(job: RunningJob): void {
  idle.delete(job.id);
  if (!running) return; // the next lease reads the grid, which lists it
  const mine = (running.byOwner.get(job.owner) ?? []).filter((j) => j.id !== job.id);
  mine.push(job);
  mine.sort(byRunOrder);
  running.byOwner.set(job.owner, mine);
}

/** Whether any job runs (from this isolate's copy of the running list). */
export async function anyRunning(env: Env): Promise<boolean> {
  return (await runningJobs(env, Date.now())).size > 0;
}

/**
 * Finds work for a volunteer: asks running jobs for up to `max` leases, submitters by weighted
 * fair share and each submitter's jobs by priority, then age. The grid object is read at most
 * once a second per isolate; the leases themselves come from the jobs' own objects, so leasing
 * scales with the number of jobs and never meets on one object.
 */
export async function leaseWork(env: Env, volunteer: string, max: number, standing: Standing, calls: JobCalls = directCalls(env)): Promise<Lease[]> {
  const now = Date.now();
  const leases: Lease[] = [];
  const weights = await submitterWeights(env);
  let tried = 0;
  for (const jobs of fair.order(await runningJobs(env, now))) {
    for (const { id, owner } of jobs) {
      if (leases.length >= max || tried >= MAX_JOBS_TRIED) return leases;
      if ((idle.get(id) ?? 0) > now) continue;
      tried++;
      // Grid-wide cap: what it holds elsewhere (as reported to this isolate) limits what it gets here.
      const room = LIMITS.leasesPerVolunteer - heldElsewhere(volunteer, id, now) - leases.length;
      let got: LeaseAnswer;
      try {
        got = await calls.lease(id, volunteer, Math.max(0, Math.min(max - leases.length, room)), standing);
      } catch (err) {
        // One failing job must not stop the grid: skip it for a moment and ask the next one.
        console.error(`lease from job ${id} failed`, err);
        idle.set(id, now + 2 * RUNNING_TTL_MS);
        continue;
      }
      leases.push(...got.leases);
      if (got.leases.length) fair.served(owner, got.leases.length, weights.get(owner) ?? 1);
      if (got.held !== undefined) recordHolding(volunteer, id, got.held, now);
      if (!got.running) {
        // Ended: drop it from the grid's list (a running job re-announces itself, see JobObject).
        idle.set(id, now + 2 * RUNNING_TTL_MS);
        await gridStub(env).jobEnded(id);
      } else if (!got.available) {
        idle.set(id, now + 250);
      }
    }
  }
  return leases;
}

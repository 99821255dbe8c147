import type { Profile } from "./objects/volunteer-object.ts";
import { ApiError } from "./errors.ts";
import { volunteerStub } from "./stubs.ts";

/**
 * How long an isolate reuses a volunteer's profile. A volunteer caught meanwhile is already
 * refused by every job that backtracked it, and any job that accepts its output afterwards is made
 * to backtrack it when it reports the contribution (VolunteerObject.contributed), so the cache
 * never lets a blacklisted one do harm.
 *
 * A profile trusted on everything is reused longest (its standing rarely changes), then one
 * trusted on nothing: each read is a call to the volunteer's own object, and at 1 s a grid of
 * newcomers read their profiles on about every eighth request (a tenth of the server's CPU in
 * `bench/coordinator.ts`, 200 volunteers leasing singly). Judged a few
 * seconds late it errs on the safe side: a newcomer trusted meanwhile is treated as a stranger
 * (more replicas, more spot-checks) a few seconds more. One trusted on some work could lose that
 * trust any second (outvoted, penalized), so it is read again each second.
 */
const TTL_MS = { untrusted: 5000, rising: 1000, trusted: 30_000 } as const;

/** How long `profile` may be reused: long once trusted on both classes of work, shortest while trusted on one. */
export function reuseMs(profile: Profile): number {
  if (profile.trusted && profile.trustedUncheckable) return TTL_MS.trusted;
  if (profile.trusted || profile.trustedUncheckable) return TTL_MS.rising;
  return TTL_MS.untrusted;
}

const MAX_ENTRIES = 20_000;
const cache = new Map<string, { profile: Profile; at: number }>();
/** When each volunteer's standing was last forgotten, counted in {@link forgetStanding} calls. */
const forgotten = new Map<string, number>();
let forgets = 0;

/** The volunteer's reputation for a lease or a results call (cached per isolate); a blacklisted volunteer gets a 403. */
export async function trustOf(env: Env, volunteer: string): Promise<Profile> {
  const now = Date.now();
  let hit = cache.get(volunteer);
  if (!hit || now - hit.at > reuseMs(hit.profile)) {
    if (cache.size >= MAX_ENTRIES) {
      cache.clear();
      forgotten.clear();
    }
    const asked = forgets;
    hit = { profile: await volunteerStub(env, volunteer).profile(volunteer), at: now };
    // A read that left before a job dropped this standing may bring the old one back: this call uses it, the cache does not.
    if ((forgotten.get(volunteer) ?? 0) <= asked) cache.set(volunteer, hit);
  }
  if (hit.profile.blacklisted) {
    throw new ApiError(403, "volunteer_blacklisted", "this volunteer returned results proven wrong and may no longer contribute");
  }
  return hit.profile;
}

/** Drops the cached profile of `volunteer` (a job refused it as blacklisted): its next call reads its record and is refused. */
export function forgetStanding(volunteer: string): void {
  cache.delete(volunteer);
  if (forgotten.size >= MAX_ENTRIES) forgotten.clear();
  forgotten.set(volunteer, ++forgets);
}

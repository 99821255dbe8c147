import type { Profile } from "./objects/volunteer-object.ts";
import { ApiError } from "./errors.ts";
import { volunteerStub } from "./stubs.ts";

/**
 * How long an isolate may reuse a volunteer's profile. Only the volunteer's gateway reads it (every
 * call runs there), and the volunteer's record tells that gateway the moment a write changes its
 * standing (GatewayObject.standingChanged): trust earned, lost (outvoted, penalized) or a
 * blacklisting. The copy is dropped then, so its next call reads the new standing; the reuse time
 * only bounds how long a copy lives if that message never arrives (a call that keeps failing,
 * which the record tries again from its alarm, or a session still on the gateway it opened on
 * after `GATEWAY_COUNT` changed). A volunteer caught meanwhile is refused by every job that
 * backtracked it, and any job that accepts its output afterwards is made to backtrack it when it
 * reports the contribution (VolunteerObject.contributed), so no copy lets a blacklisted one do harm.
 *
 * Each read is a call to the volunteer's own object, which has usually been evicted since its last
 * call and starts cold. With every copy kept 30 s, the 956 volunteers of `node bench/sessions.ts
 * --only=busy` (read together when they first leased) were all read again together 30 s later, on
 * their leases' path: lease p99 59-136 ms and results p99 84-206 ms over its 30 s window, against
 * 32-33 and 40-56 ms with copies kept 300 s (2026-11-29). So a copy lives from half of
 * PROFILE_REUSE_MS to all of it, drawn when it is made: copies made together expire apart.
 */
export const PROFILE_REUSE_MS = 300_000;

/** When a copy made now stops being reused: between half of PROFILE_REUSE_MS and all of it. */
const expiresAt = (now: number) => now + PROFILE_REUSE_MS * (0.5 + Math.random() / 2);

/** Copies an isolate keeps at most; past it, the oldest tenth is dropped (never every copy at once: they would all be read again together). */
export const MAX_ENTRIES = 20_000;
const cache = new Map<string, { profile: Profile; until: number }>();
/** When each volunteer's standing was last forgotten, counted in {@link forgetStanding} calls. */
const forgotten = new Map<string, number>();
let forgets = 0;

/** The volunteer's reputation for a lease or a results call (cached per isolate); a blacklisted volunteer gets a 403. */
export async function trustOf(env: Env, volunteer: string): Promise<Profile> {
  const now = Date.now();
  let hit = cache.get(volunteer);
  if (!hit || now > hit.until) {
    if (cache.size >= MAX_ENTRIES) {
      let drop = MAX_ENTRIES / 10;
      for (const key of cache.keys()) {
        if (drop-- <= 0) break;
        cache.delete(key); // a Map keeps insertion order: the oldest copies first
      }
    }
    const asked = forgets;
    hit = { profile: await volunteerStub(env, volunteer).profile(volunteer), until: expiresAt(now) };
    // Deleted first, so the Map's order stays the copies' age.
    cache.delete(volunteer);
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

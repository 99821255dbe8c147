import type { Profile } from "./objects/volunteer-object.ts";
import { ApiError } from "./errors.ts";
import { volunteerStub } from "./stubs.ts";

/**
 * How long an isolate reuses a volunteer's profile. A newcomer's standing changes quickly (it may
 * earn trust within seconds), a trusted one's rarely; a volunteer caught meanwhile is already
 * refused by every job that backtracked it, and any job that accepts its output afterwards is made
 * to backtrack it when it reports the contribution (VolunteerObject.contributed), so the cache
 * never lets a blacklisted one do harm.
 *
 * Results reuse a newcomer's profile longer than leases do: each read is a call to the
 * volunteer's own object, and with one TTL a volunteer at one shard per 4 s read its profile on
 * every lease and again on every result (about a tenth of the server's CPU in
 * `bench/sessions.ts`). Only a profile trusted on nothing gets the longer reuse: judged a few
 * seconds late it errs on the safe side (a newcomer trusted meanwhile is checked as a stranger once
 * more). One trusted on some work could lose that trust any second (outvoted, penalized), so its
 * results re-read it as often as its leases do.
 *
 * Leases keep 1 s even for a newcomer: there a stale "trusted on nothing" is not the safe side.
 * A volunteer that just earned trust would still be kept from confirming strangers' uncheckable
 * results while they wait for a trusted confirmer, which hands them to other strangers. With 5 s,
 * `npm run bench:trust -- --quick` accepted 22 wrong of 400 shards in the colluding published
 * cell (0 with 1 s), its honest volunteers never seen as trusted in a job that short.
 */
const TTL_MS = { untrusted: { lease: 1000, results: 5000 }, rising: 1000, trusted: 30_000 } as const;

/** How long `profile` may be reused for a call of kind `use`: long only once trusted on both classes of work. */
export function reuseMs(profile: Profile, use: "lease" | "results"): number {
  if (profile.trusted && profile.trustedUncheckable) return TTL_MS.trusted;
  if (profile.trusted || profile.trustedUncheckable) return TTL_MS.rising;
  return TTL_MS.untrusted[use];
}

const MAX_ENTRIES = 20_000;
const cache = new Map<string, { profile: Profile; at: number }>();
/** When each volunteer's standing was last forgotten, counted in {@link forgetStanding} calls. */
const forgotten = new Map<string, number>();
let forgets = 0;

/** The volunteer's reputation for a lease or a results call (cached per isolate); a blacklisted volunteer gets a 403. */
export async function trustOf(env: Env, volunteer: string, use: "lease" | "results"): Promise<Profile> {
  const now = Date.now();
  let hit = cache.get(volunteer);
  if (!hit || now - hit.at > reuseMs(hit.profile, use)) {
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

import type { Profile } from "./objects/volunteer-object.ts";
import { ApiError } from "./errors.ts";
import { volunteerStub } from "./stubs.ts";

/**
 * How long an isolate reuses a volunteer's profile. A newcomer's standing changes quickly (it may
 * earn trust within seconds), a trusted one's rarely; a volunteer caught meanwhile is already
 * refused by every job that backtracked it, so the cache never lets a blacklisted one do harm.
 */
const TTL_MS = { untrusted: 1000, trusted: 30_000 } as const;
const MAX_ENTRIES = 20_000;
const cache = new Map<string, { profile: Profile; at: number }>();

/** The volunteer's reputation (cached briefly per isolate); a blacklisted volunteer gets a 403. */
export async function trustOf(env: Env, volunteer: string): Promise<Profile> {
  const now = Date.now();
  let hit = cache.get(volunteer);
  // Settled only once trusted on both classes of work: until then its standing may rise any second.
  const settled = hit?.profile.trusted && hit.profile.trustedUncheckable;
  if (!hit || now - hit.at > (settled ? TTL_MS.trusted : TTL_MS.untrusted)) {
    if (cache.size >= MAX_ENTRIES) cache.clear();
    hit = { profile: await volunteerStub(env, volunteer).profile(volunteer), at: now };
    cache.set(volunteer, hit);
  }
  if (hit.profile.blacklisted) {
    throw new ApiError(403, "volunteer_blacklisted", "this volunteer returned results proven wrong and may no longer contribute");
  }
  return hit.profile;
}

import { gridStub } from "./stubs.ts";

let cached: Promise<string> | undefined;

/** The volunteer-token signing secret: COLMEIA_SECRET, or one the grid object made and keeps. */
export function signingSecret(env: Env): Promise<string> {
  if (env.COLMEIA_SECRET) return Promise.resolve(env.COLMEIA_SECRET);
  cached ??= gridStub(env)
    .secret()
    .catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
  return cached;
}

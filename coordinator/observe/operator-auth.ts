import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

/** Whether two digests of equal length are equal, looking at every byte whatever differs. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Guards the operator endpoints (`/metrics`, `/v1/health/deep`): when the METRICS_TOKEN binding is
 * set they need `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); unset, they are open.
 * Digests of equal length are compared in constant time, so timing reveals nothing of the token.
 */
export const operatorAuth = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.METRICS_TOKEN;
  if (expected) {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    const [a, b] = await Promise.all([digest(`operator:${given}`), digest(`operator:${expected}`)]);
    if (!given || !sameDigest(a, b)) {
      throw new ApiError(401, "unauthorized", "this endpoint needs Authorization: Bearer <METRICS_TOKEN>", { "www-authenticate": 'Bearer realm="colmeia operator"' });
    }
  }
  await next();
});

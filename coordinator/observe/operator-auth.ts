import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { timingSafeEqual } from "../crypto.ts";
import { ApiError } from "../errors.ts";

/**
 * Guards the operator endpoints (`/metrics`, `/v1/health/deep`): when the METRICS_TOKEN binding is
 * set they need `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); unset, they are open.
 * The comparison takes the same time whatever differs, so timing reveals nothing of the token.
 */
export const operatorAuth = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.METRICS_TOKEN;
  if (expected) {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    if (!given || !(await timingSafeEqual(given, expected))) {
      throw new ApiError(401, "unauthorized", "this endpoint needs Authorization: Bearer <METRICS_TOKEN>", {
        "www-authenticate": 'Bearer realm="colmeia operator"',
      });
    }
  }
  await next();
});

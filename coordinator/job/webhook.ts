import { env } from "cloudflare:workers";
import type { JobStatus } from "../../shared/schemas.ts";
import { hmacHex } from "../crypto.ts";
import { notifyUrlProblem, webhookHttpHosts } from "../net/notify-url.ts";
import type { JobMeta } from "./meta.ts";

/** Attempts before a notification is given up (backoff 2 s, 4 s, … capped at 10 min: about 45 min in all). */
export const WEBHOOK_ATTEMPTS = 10;

/** Hex HMAC-SHA256 of `body` keyed by `secret`: the `x-colmeia-signature: sha256=<hex>` value. */
export const signBody = (secret: string, body: string): Promise<string> => hmacHex(secret, body);

/**
 * Makes one delivery attempt of a job's completion notification and returns the notify state
 * that follows: delivered on a 2xx, otherwise the next attempt's time, or given up. The state
 * keeps no trace of what the target answered (status, headers, body, error text): the job status
 * shows only delivered, pending or gave_up and the number of attempts. A target the rules refuse
 * now (a job stored before they existed, an operator who narrowed `WEBHOOK_HTTP_HOSTS`) is given
 * up without a request.
 */
export async function deliver(
  notify: NonNullable<JobMeta["notify"]>,
  status: JobStatus,
  secret: string,
  now: number,
  allowed: readonly string[] = webhookHttpHosts(env.WEBHOOK_HTTP_HOSTS),
): Promise<NonNullable<JobMeta["notify"]>> {
  if (notifyUrlProblem(notify.url, allowed)) return { url: notify.url, state: "gave_up", attempts: notify.attempts };
  const body = JSON.stringify(status);
  const attempts = notify.attempts + 1;
  let ok = false;
  try {
    const res = await fetch(notify.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "colmeia-webhook/1",
        "x-colmeia-event": `job.${status.state}`,
        "x-colmeia-delivery": `${status.id}.${attempts}`,
        "x-colmeia-signature": `sha256=${await signBody(secret, body)}`,
      },
      body,
      // A redirect is a failed attempt, never followed: it could point anywhere.
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
    });
    ok = res.status >= 200 && res.status < 300;
    await res.body?.cancel();
  } catch {
    ok = false;
  }
  if (ok) return { url: notify.url, state: "delivered", attempts };
  if (attempts >= WEBHOOK_ATTEMPTS) return { url: notify.url, state: "gave_up", attempts };
  return { url: notify.url, state: "pending", attempts, nextAt: now + Math.min(600_000, 2000 * 2 ** (attempts - 1)) };
}

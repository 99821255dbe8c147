import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { LIMITS } from "../shared/limits.ts";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./errors.ts";
import { limiterStub } from "./stubs.ts";
import { describeError, log } from "./observe/log.ts";

/**
 * Rate limits, per submitter token and per client address (see LIMITS).
 *
 * Cost: a Durable Object round trip on every call would double the objects' traffic and add a hop
 * to every lease. So each key has one RateLimiterObject (sharded by key: no hot object) as the
 * authority across isolates, and each isolate takes a share of the bucket from it at once (a
 * twentieth of a minute's allowance) and spends it locally. An isolate asks the object about once
 * per share, and once per `retry-after` while a client is refused: a flood costs the objects almost
 * nothing. The price is a small slack: a client spread over n isolates may get up to n shares more
 * than the limit, and a share left unused in an isolate it no longer reaches is lost (a share older
 * than the window is dropped, by which time the authority's bucket has refilled anyway).
 */

/** Bindings that lower or raise the published limits (optional vars). */
type LimitEnv = Env & { SUBMIT_RATE_PER_MINUTE?: string; ADDRESS_RATE_PER_MINUTE?: string };

const WINDOW_MS = 60_000;
/** An isolate takes this fraction of a minute's allowance from the authority at once. */
const SHARE = 1 / 20;
const MAX_KEYS = 10_000;

interface Local {
  tokens: number;
  /** When the tokens were granted (they are dropped a window later). */
  at: number;
  blockedUntil: number;
  asking?: Promise<void>;
}
const local = new Map<string, Local>();

/** A binding read as a positive rate, or the published default. */
function rate(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Asks the authority for a share; on its failure this isolate lets one share through (a limiter outage must not stop the grid). */
async function ask(env: Env, key: string, perMinute: number, b: Local): Promise<void> {
  const want = Math.max(1, Math.floor(perMinute * SHARE));
  try {
    const { granted, waitMs } = await limiterStub(env, key).takeUpTo(perMinute, WINDOW_MS, want);
    const now = Date.now();
    if (granted) Object.assign(b, { tokens: b.tokens + granted, at: now });
    else b.blockedUntil = now + waitMs;
  } catch (err) {
    log("error", "rate limiter unavailable; letting calls through", { limiter: key, ...describeError(err) });
    Object.assign(b, { tokens: b.tokens + want, at: Date.now() });
  }
}

/** Takes one call from `key`'s bucket of `perMinute`; returns 0, or the ms to wait before retrying. */
export async function take(env: Env, key: string, perMinute: number): Promise<number> {
  const id = `${perMinute}:${key}`;
  let b = local.get(id);
  if (!b) {
    if (local.size >= MAX_KEYS) local.clear();
    b = { tokens: 0, at: 0, blockedUntil: 0 };
    local.set(id, b);
  }
  for (;;) {
    const now = Date.now();
    if (b.blockedUntil > now) return b.blockedUntil - now;
    if (now - b.at > WINDOW_MS) b.tokens = 0;
    if (b.tokens >= 1) {
      b.tokens--;
      return 0;
    }
    // Concurrent calls in this isolate share one question to the authority.
    const entry = b;
    entry.asking ??= ask(env, key, perMinute, entry).finally(() => (entry.asking = undefined));
    await entry.asking;
  }
}

/** Throws the contract's 429 when `key` has no call left. */
async function enforce(env: Env, key: string, perMinute: number, what: string): Promise<void> {
  const wait = await take(env, key, perMinute);
  if (wait > 0) {
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    throw new ApiError(429, "rate_limited", `too many calls ${what} (${perMinute} a minute); retry after ${seconds} s`, { "retry-after": String(seconds) });
  }
}

/**
 * The rate-limit key of a client address: an IPv4 address as is, an IPv6 address by its /64 (a
 * site gets a whole /64, so keying the full address would give one client 2^64 buckets).
 * IPv4-mapped IPv6 addresses count as their IPv4 address.
 * @example addressKey("2001:db8:0:1::7") === addressKey("2001:0db8:0000:0001:ffff::2") // "6:2001:db8:0:1::/64"
 */
export function addressKey(ip: string): string {
  const a = ip.trim().toLowerCase().split("%")[0]!;
  if (!a.includes(":")) return `4:${a.slice(0, 45)}`;
  const g = ipv6Groups(a);
  if (!g) return `6?:${a.slice(0, 45)}`;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `4:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return `6:${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address in text form (`::` and a dotted IPv4 tail allowed), or undefined. */
function ipv6Groups(a: string): number[] | undefined {
  let text = a;
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    const b = v4.slice(2).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    text = `${v4[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s ? s.split(":") : []);
  const [left, right] = [part(halves[0]!), part(halves[1] ?? "")];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  return groups.every((x) => /^[0-9a-f]{1,4}$/.test(x)) ? groups.map((x) => parseInt(x, 16)) : undefined;
}

/** The caller's address key, or undefined where there is none (on Cloudflare every request has one). */
function clientAddress(c: Context<AppEnv>): string | undefined {
  const ip = c.req.header("cf-connecting-ip");
  return ip ? addressKey(ip) : undefined;
}

/** Loopback: only local runs (`npm start` reports 127.0.0.1 for every client); on Cloudflare the address is the client's. */
const LOOPBACK = new Set(["4:127.0.0.1", "6:0:0:0:0::/64"]);

/** The caller's address key when per-address bounds apply to it (known, and not loopback); else undefined. */
export function boundedAddress(c: Context<AppEnv>): string | undefined {
  const address = clientAddress(c);
  return address === undefined || LOOPBACK.has(address) ? undefined : address;
}

/**
 * Per-address limit of volunteer and anonymous calls. A request without an address (tests,
 * local tools) or from loopback (every volunteer of a local grid shares 127.0.0.1) is not limited.
 */
export async function limitAddress(c: Context<AppEnv>): Promise<void> {
  const address = clientAddress(c);
  if (address === undefined || LOOPBACK.has(address)) return;
  const env: LimitEnv = c.env;
  await enforce(env, `addr:${address}`, rate(env.ADDRESS_RATE_PER_MINUTE, LIMITS.addressCallsPerMinute), "from this address");
}

/** Middleware form of {@link limitAddress}. */
export const addressLimit = createMiddleware<AppEnv>(async (c, next) => {
  await limitAddress(c);
  await next();
});

/** Per-token limit of a submitter's calls (keyed by the submitter id derived from its token). */
export function limitSubmitter(env: Env, submitter: string): Promise<void> {
  const limits: LimitEnv = env;
  return enforce(env, `sub:${submitter}`, rate(limits.SUBMIT_RATE_PER_MINUTE, LIMITS.submitterCallsPerMinute), "with this token");
}

/** Volunteer registrations per address (REGISTRATIONS_PER_MINUTE); without an address, one shared bucket. */
export function limitRegistration(c: Context<AppEnv>): Promise<void> {
  const env = c.env;
  return enforce(
    env,
    `register:${clientAddress(c) ?? "unknown"}`,
    rate(env.REGISTRATIONS_PER_MINUTE, LIMITS.registrationsPerMinute),
    "registering volunteers from this address",
  );
}

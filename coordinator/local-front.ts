import { WorkerEntrypoint } from "cloudflare:workers";
import { app } from "./app.ts";

/** The var `npm start` (scripts/serve.mjs) sets to wrangler.toml's `[assets] run_worker_first`, as JSON. */
export type LocalFrontVars = { LOCAL_WORKER_FIRST?: string };

/**
 * A test of whether a path goes to the coordinator before any asset, from `run_worker_first`
 * patterns as Cloudflare reads them: `*` matches any run of characters (slashes too), a pattern
 * starting with `!` excludes what it matches, and an exclusion wins.
 */
export function workerFirst(patterns: readonly string[]): (path: string) => boolean {
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const included = patterns.filter((p) => !p.startsWith("!")).map(glob);
  const excluded = patterns.filter((p) => p.startsWith("!")).map((p) => glob(p.slice(1)));
  return (path) => included.some((r) => r.test(path)) && !excluded.some((r) => r.test(path));
}

function withoutClientAddress(request: Request): Request {
  const copy = new Request(request);
  copy.headers.delete("cf-connecting-ip");
  return copy;
}

/** The matcher for the current var, built once per isolate. */
let matcher: { from: string; test: (path: string) => boolean } | undefined;

/**
 * `npm start`'s front door. workerd's socket hands each request straight to this entrypoint
 * instead of through Miniflare's entry Worker and the assets router: two JavaScript isolates a
 * request would cross on workerd's one thread, together most of a cheap call's CPU (bench
 * figures in the README). It routes as the assets router does: a path matching
 * `run_worker_first` goes to the coordinator; any other GET or HEAD is answered with the asset
 * if one exists, anything else by the coordinator. Deployed, Cloudflare routes requests itself
 * and nothing reaches this entrypoint (a named entrypoint has no public route).
 */
export class LocalFront extends WorkerEntrypoint<Env> {
  override async fetch(incoming: Request): Promise<Response> {
    // Only loopback binds come through here. On Cloudflare the edge sets CF-Connecting-IP; a local
    // client must not pick its own address (a fresh per-address rate-limit bucket with each one).
    const request = incoming.headers.has("cf-connecting-ip") ? withoutClientAddress(incoming) : incoming;
    const from = (this.env as Env & LocalFrontVars).LOCAL_WORKER_FIRST ?? "[]";
    if (matcher?.from !== from) matcher = { from, test: workerFirst(JSON.parse(from) as string[]) };
    if (!matcher.test(new URL(request.url).pathname) && (request.method === "GET" || request.method === "HEAD")) {
      const asset = await this.env.ASSETS.fetch(request);
      if (asset.status !== 404) return asset;
    }
    return app.fetch(request, this.env, this.ctx);
  }
}

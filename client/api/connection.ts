import { hc } from "hono/client";
import type { AppType } from "../../coordinator/app.ts";
import { ColmeiaError } from "./errors.ts";
import { transportFetch, type TransportOptions } from "./transport.ts";

/** Where the coordinator is and how to reach it. */
export interface ConnectionOptions extends TransportOptions {
  /** Base URL of the coordinator, e.g. `http://127.0.0.1:8787`. */
  url: string;
}

/** The Hono RPC client typed from the coordinator's own routes, with `token` as bearer. */
export function rpc(options: ConnectionOptions, token?: string) {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new ColmeiaError(0, "invalid_url", `not a URL: ${JSON.stringify(options.url)} (expected e.g. http://127.0.0.1:8787)`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new ColmeiaError(0, "invalid_url", `the coordinator URL must be http(s): ${options.url}`);
  }
  return hc<AppType>(base.href.replace(/\/+$/, ""), {
    fetch: transportFetch(options),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Type of the client {@link rpc} builds. */
export type Rpc = ReturnType<typeof rpc>;

/**
 * An id made safe for a path segment. Hono's client splices params in verbatim, so an empty id
 * would turn `GET /v1/jobs/:id` into `GET /v1/jobs` and `..` would climb a level.
 */
export function pathId(id: string, what = "job id"): string {
  if (id === "" || id === "." || id === "..") throw new ColmeiaError(0, "invalid_id", `invalid ${what}: ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
}

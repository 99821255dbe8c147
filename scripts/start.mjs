#!/usr/bin/env node
// `npm start`: the local grid. Coordinator, volunteer page and dashboard built once and served by
// Miniflare on one workerd (serve.mjs); `npm run dev` (--dev) runs `wrangler dev` instead, which
// rebuilds and reloads on every change (wrangler-dev.mjs). State on disk in STATE_DIR (default
// ./.state, shared by both), tokens from .dev.vars (created when missing), PORT (default 8787).
// The coordinator's structured logs (LOG_LEVEL: debug, info, warn, error; default info) are printed
// for a person, or as one JSON object per line with LOG_FORMAT=json. Other flags (e.g. --var
// NAME:VALUE) go to the server. The server runs on a leash (leash.mjs): nothing outlives this process.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./dev-vars.mjs";
import { leashed, signalGroup } from "./leash.mjs";

/** Time the server gets to stop after Ctrl-C before its whole process group is killed. */
const GRACE_MS = 5000;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dev = process.argv[2] === "--dev";
const port = process.env.PORT ?? "8787";
// LOG_FORMAT=json: stdout carries only the coordinator's JSON lines (for jq); the rest goes to stderr.
const say = process.env.LOG_FORMAT === "json" ? console.error : console.log;
const stateDir = resolve(process.env.STATE_DIR ?? join(root, ".state"));

const tokens = ensureDevVars(root);
if (tokens) say(tokens);

const cache = join(root, ".cache");
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  X_LOCAL_OBSERVABILITY: "false",
  X_LOCAL_EXPLORER: "false",
  XDG_CONFIG_HOME: join(cache, "config"),
  XDG_DATA_HOME: join(cache, "data"),
  XDG_CACHE_HOME: join(cache, "cache"),
};
const args = [
  "--ip",
  "127.0.0.1",
  "--port",
  port,
  "--persist-to",
  stateDir,
  "--var",
  `LOG_LEVEL:${process.env.LOG_LEVEL ?? "info"}`,
  ...process.argv.slice(dev ? 3 : 2),
];
const how = dev ? "wrangler dev, reloading on change" : "Miniflare";
say(`Colmeia on http://127.0.0.1:${port}  (volunteer page /, dashboard /dashboard, state in ${stateDir}; ${how})`);
const child = leashed(join(root, "scripts", dev ? "wrangler-dev.mjs" : "serve.mjs"), args, { cwd: root, env });

const stop = (signal) => {
  signalGroup(child.pid, "SIGINT");
  setTimeout(() => {
    signalGroup(child.pid, "SIGKILL");
    process.exit(signal === "SIGINT" ? 130 : 143);
  }, GRACE_MS).unref();
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
// A server that failed to start kills its own group: a signal here, so exit 1.
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

#!/usr/bin/env node
// `npm start`: the local grid. Coordinator, volunteer page and dashboard on workerd (wrangler dev),
// state on disk in STATE_DIR (default ./.state), tokens from .dev.vars (created when missing).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const port = process.env.PORT ?? "8787";
const stateDir = resolve(process.env.STATE_DIR ?? join(root, ".state"));
const devVars = join(root, ".dev.vars");

if (!existsSync(devVars)) {
  const token = `cs_${randomBytes(24).toString("base64url")}`;
  const secret = randomBytes(32).toString("base64url");
  // Plain-http webhooks to this machine are allowed locally (deployed, WEBHOOK_HTTP_HOSTS is unset: https only).
  writeFileSync(devVars, `SUBMIT_TOKENS=${token}\nCOLMEIA_SECRET=${secret}\nWEBHOOK_HTTP_HOSTS=127.0.0.1,localhost\n`, { mode: 0o600 });
  console.log(`Created .dev.vars with a new submitter token:\n\n  COLMEIA_TOKEN=${token}\n`);
} else {
  const tokens = /^SUBMIT_TOKENS=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1];
  if (tokens) console.log(`Submitter token(s) from .dev.vars: ${tokens.split(",")[0]}${tokens.includes(",") ? ", …" : ""}`);
}

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
  join(root, "node_modules/wrangler/bin/wrangler.js"),
  "dev",
  "--ip", "127.0.0.1",
  "--port", port,
  "--persist-to", stateDir,
  "--log-level", process.env.LOG_LEVEL ?? "warn",
  "--show-interactive-dev-session=false",
  ...process.argv.slice(2),
];
console.log(`Colmeia on http://127.0.0.1:${port}  (volunteer page /, dashboard /dashboard, state in ${stateDir})`);
// Own process group, so one signal stops wrangler and both of its workerd processes.
const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit", detached: true });
const stop = (signal) => {
  try {
    process.kill(-child.pid, "SIGINT");
  } catch {}
  setTimeout(() => process.exit(signal === "SIGINT" ? 130 : 143), 5000).unref();
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", (code) => process.exit(code ?? 0));

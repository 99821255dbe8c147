#!/usr/bin/env node
// `npm start`: the local grid. Coordinator, volunteer page and dashboard on workerd (wrangler dev),
// state on disk in STATE_DIR (default ./.state), tokens from .dev.vars (created when missing).
// The coordinator's structured logs (LOG_LEVEL: debug, info, warn, error; default info) are printed
// for a person, or as one JSON object per line with LOG_FORMAT=json.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { lineFormatter } from "./log-format.mjs";

const LEASH = "COLMEIA_START_LEASH";
/** Time wrangler gets to stop on its own before its whole process group is killed. */
const GRACE_MS = 5000;

if (process.env[LEASH]) leash(process.argv.slice(2));
else start();

function start() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const port = process.env.PORT ?? "8787";
  // LOG_FORMAT=json: stdout carries only the coordinator's JSON lines (for jq); the rest goes to stderr.
  const json = process.env.LOG_FORMAT === "json";
  const say = json ? console.error : console.log;
  const stateDir = resolve(process.env.STATE_DIR ?? join(root, ".state"));
  const devVars = join(root, ".dev.vars");

  if (!existsSync(devVars)) {
    const token = `cs_${randomBytes(24).toString("base64url")}`;
    const secret = randomBytes(32).toString("base64url");
    // Plain-http webhook targets are refused except on these hosts: local testing only.
    const vars = `SUBMIT_TOKENS=${token}\nCOLMEIA_SECRET=${secret}\nWEBHOOK_HTTP_HOSTS=127.0.0.1,localhost\n`;
    writeFileSync(devVars, vars, { mode: 0o600 });
    say(`Created .dev.vars with a new submitter token:\n\n  COLMEIA_TOKEN=${token}\n`);
  } else {
    const tokens = /^SUBMIT_TOKENS=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1];
    if (tokens) say(`Submitter token(s) from .dev.vars: ${tokens.split(",")[0]}${tokens.includes(",") ? ", …" : ""}`);
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
    // wrangler's own threshold: "info" lets the coordinator's info lines (console.info) through.
    "--log-level", process.env.WRANGLER_LOG_LEVEL ?? "info",
    "--show-interactive-dev-session=false",
    "--var", `LOG_LEVEL:${process.env.LOG_LEVEL ?? "info"}`,
    ...process.argv.slice(2),
  ];
  say(`Colmeia on http://127.0.0.1:${port}  (volunteer page /, dashboard /dashboard, state in ${stateDir})`);
  // The leash (this script again) leads a process group of its own holding wrangler and both of its
  // workerd processes, so one signal stops them all. Its fd 3 is a pipe from here: the kernel closes
  // it however this process ends, even by SIGKILL, and the leash then stops the group.
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    cwd: root,
    env: { ...env, [LEASH]: "1" },
    stdio: ["inherit", "pipe", "pipe", "pipe"],
    detached: true,
  });
  child.stdio[3]?.on("error", () => {});
  for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    const format = lineFormatter({ json, color: !json && Boolean(to.isTTY) });
    createInterface({ input: from, crlfDelay: Infinity }).on("line", (line) => {
      const out = format(line);
      if (out === undefined) return;
      (json && !out.startsWith('{"time":') ? process.stderr : to).write(`${out}\n`);
    });
  }
  const stop = (signal) => {
    signalGroup(child.pid, "SIGINT");
    setTimeout(() => {
      signalGroup(child.pid, "SIGKILL");
      process.exit(signal === "SIGINT" ? 130 : 143);
    }, GRACE_MS).unref();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // A moment for wrangler's last lines to come through the pipes.
  child.on("exit", (code) => setTimeout(() => process.exit(code ?? 0), 200));
}

/** Runs wrangler in this process's group and stops the whole group once `npm start` is gone. */
function leash([wrangler, ...args]) {
  delete process.env[LEASH];
  let stopping = false;
  const stopGroup = (forward) => {
    if (stopping) return;
    stopping = true;
    if (forward) signalGroup(process.pid, "SIGINT");
    setTimeout(() => signalGroup(process.pid, "SIGKILL"), GRACE_MS).unref();
  };
  // SIGINT comes to the whole group (npm start's stop): wrangler has it already.
  process.on("SIGINT", () => stopGroup(false));
  process.on("SIGTERM", () => stopGroup(true));
  process.on("SIGHUP", () => stopGroup(true));
  const parent = new Socket({ fd: 3, readable: true, writable: false });
  parent.on("error", () => stopGroup(true));
  parent.on("close", () => stopGroup(true));
  parent.resume();
  const child = spawn(process.execPath, [wrangler, ...args], { stdio: "inherit" });
  child.on("exit", (code) => process.exit(code ?? 0));
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

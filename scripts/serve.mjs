// The local grid on Miniflare, run by `npm start` through its leash: the coordinator built once
// (build-worker.mjs), the browser bundles built (build-client.mjs, wrangler.toml's [build]), and
// served by one workerd with every binding, var and migration of wrangler.toml and the secrets of
// .dev.vars, read by wrangler's own config reader. What `wrangler dev` adds in front (a second
// workerd proxying each request, dev middleware, request logging through Node, file watching) is
// left out. State is stored where `wrangler dev --persist-to <dir>` stores it (<dir>/v3).
// Flags: --ip, --port, --persist-to, --var NAME:VALUE (repeatable), --inspector-port; LOG_FORMAT=json
// as in start.mjs.
import { stop as stopEsbuild } from "esbuild";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildClient } from "./build-client.mjs";
import { buildWorker } from "./build-worker.mjs";
import { printer } from "./log-format.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Miniflare's own messages (warnings and errors only), on stderr so stdout keeps to the coordinator's lines. */
class StderrLog extends Log {
  log(message) {
    process.stderr.write(`${message}\n`);
  }
}

/** wrangler.toml read by wrangler itself: the Worker's name and entry, and its Miniflare options. */
async function readWranglerConfig() {
  // wrangler's logger says only warnings ("Using secrets defined in .dev.vars" is info).
  process.env.WRANGLER_LOG ??= "warn";
  const wrangler = await import("wrangler");
  const config = wrangler.unstable_readConfig({ config: join(root, "wrangler.toml") });
  const { workerOptions, main } = wrangler.unstable_getMiniflareWorkerOptions(config);
  // run_worker_first is a list of patterns, or true (every path) or false (none).
  const first = config.assets?.run_worker_first;
  const workerFirst = first === true ? ["/*"] : Array.isArray(first) ? first : [];
  return { name: config.name, main, workerOptions, workerFirst };
}

/** Whether `ip` is this machine's loopback, where only local processes connect. */
function isLoopback(ip) {
  return ip === "localhost" || ip === "::1" || ip.startsWith("127.");
}

/**
 * Vars a local grid sets differently from wrangler.toml (a --var still wins). Gateways spread
 * volunteers over Durable Objects that each run on their own thread on Cloudflare; one workerd
 * runs them all on one thread, where more gateways only split the batches each sends a job, so a
 * local grid has one (measured: README, "Gateways"). One gateway holds up to 10,000 sessions.
 */
const LOCAL_VARS = { GATEWAY_COUNT: "1" };

/** `NAME:VALUE` pairs of --var flags as bindings (the first colon splits, as in wrangler dev). */
function varBindings(pairs) {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf(":");
      if (at < 1) throw new Error(`--var expects NAME:VALUE, not ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/**
 * Builds and starts the local grid; resolves once it answers, with its `stop()`.
 * @example const server = await run(["--port", "8787", "--persist-to", ".state"]);
 */
export async function run(args) {
  const { values } = parseArgs({
    args,
    options: {
      ip: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8787" },
      "persist-to": { type: "string", default: join(root, ".state") },
      var: { type: "string", multiple: true, default: [] },
      "inspector-port": { type: "string" },
    },
  });
  const started = performance.now();
  const modulesRoot = join(root, ".worker");
  const buildFromConfig = async () => {
    const config = await readWranglerConfig();
    return { ...config, modules: await buildWorker({ root, entry: config.main, modulesRoot }) };
  };
  const [{ name, main, workerOptions, workerFirst, modules }] = await Promise.all([buildFromConfig(), buildClient()]);
  // Built once: esbuild's service process has nothing more to do.
  await stopEsbuild();
  const print = printer({ json: process.env.LOG_FORMAT === "json" });
  // On loopback, workerd's socket hands requests straight to the Worker's LocalFront entrypoint
  // (coordinator/local-front.ts), past Miniflare's entry Worker and the assets router, and
  // Miniflare's own entry listens on a free loopback port nobody is told. On any other address the
  // entry stays in front: it is what tells the coordinator each caller's address (CF-Connecting-IP),
  // which per-address limits need once other machines connect; on loopback every caller is
  // 127.0.0.1, which those limits leave alone anyway.
  const direct = isLoopback(values.ip);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      rootPath: root,
      host: direct ? "127.0.0.1" : values.ip,
      port: direct ? 0 : Number(values.port),
      // DevTools (chrome://inspect) on the Worker and its Durable Objects; off unless asked for.
      inspectorPort: values["inspector-port"] === undefined ? undefined : Number(values["inspector-port"]),
      cf: false,
      log: new StderrLog(LogLevel.WARN),
      logRequests: false,
      handleStructuredLogs: ({ level, message }) => {
        const from = level === "warn" || level === "error" ? "stderr" : "stdout";
        for (const line of message.split("\n")) print(line, from);
      },
      resourcePersistencePath: join(resolve(values["persist-to"]), "v3"),
      workers: [
        {
          ...workerOptions,
          name,
          modules,
          modulesRoot,
          bindings: { ...workerOptions.bindings, ...LOCAL_VARS, ...varBindings(values.var), LOCAL_WORKER_FIRST: JSON.stringify(workerFirst) },
          ...(direct && { unsafeDirectSockets: [{ host: values.ip, port: Number(values.port), entrypoint: "LocalFront" }] }),
        },
      ],
    }),
  );
  let url;
  try {
    const entry = await mf.ready;
    url = direct ? await mf.unsafeGetDirectURL(name, "LocalFront") : entry;
  } catch (err) {
    // Miniflare names its socket ("direct:0:LocalFront"), not the address the user asked for.
    if (!/address already in use/i.test(String(err?.message))) throw err;
    await mf.dispose().catch(() => {});
    throw new Error(`${values.ip}:${values.port} is already in use: stop the server listening there, or choose another port (PORT=8788 npm start)`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`Ready on ${url.origin} (${main.replace(`${root}/`, "")} built and started in ${seconds} s)\n`);
  if (!direct) {
    process.stderr.write(
      "Warning: bound to a non-loopback address, per-address rate limits trust the CF-Connecting-IP header a client sends; put a reverse proxy that sets it in front (see README, Running locally)\n",
    );
  }
  return { url, stop: () => mf.dispose() };
}

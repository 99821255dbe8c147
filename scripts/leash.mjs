// The leash: runs the local server (a module with `run(args)`) in a process group of its own, led by
// this process, and stops the whole group once the process that started it is gone, however it
// ended. Its fd 3 is a pipe from that parent: the kernel closes it even when the parent dies by
// SIGKILL, and the leash then stops the server and, past a grace period, kills the group.
import { spawn } from "node:child_process";
import { Socket } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Time the server gets to stop on its own before its whole process group is killed. */
const GRACE_MS = 5000;

/**
 * Starts `module`'s `run(args)` on a leash; returns the leash's process, the leader of a new
 * process group sharing this process's stdout and stderr.
 * @example const child = leashed(join(root, "scripts/serve.mjs"), ["--port", "8787"], { cwd: root, env });
 */
export function leashed(module, args, { cwd, env }) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), module, ...args], {
    cwd,
    env,
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    detached: true,
  });
  child.stdio[3]?.on("error", () => {});
  return child;
}

/** Sends `signal` to every process of the group `pgid`; a group already gone is fine. */
export function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

/** The leash itself: runs the server, stops it with its group when told to or orphaned. */
async function hold(module, args) {
  let server;
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    // Not unref'd: this timer keeps the leash alive until the group is surely gone.
    setTimeout(() => signalGroup(process.pid, "SIGKILL"), GRACE_MS);
    // Still starting (building, spawning workerd): nothing worth a graceful stop.
    if (!server) return signalGroup(process.pid, "SIGKILL");
    await server.stop().catch(() => {});
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
  process.on("SIGHUP", () => void stop(129));
  const parent = new Socket({ fd: 3, readable: true, writable: false });
  parent.on("error", () => void stop(0));
  parent.on("close", () => void stop(0));
  parent.resume();

  const { run } = await import(pathToFileURL(module).href);
  try {
    server = await run(args);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    // The whole group, this process included (whoever started it sees a signal, not an exit code).
    return signalGroup(process.pid, "SIGKILL");
  }
  server.exited?.then((code) => void (stopping || process.exit(code)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await hold(process.argv[2], process.argv.slice(3));

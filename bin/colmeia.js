#!/usr/bin/env node
// `colmeia`: runs the TypeScript CLI (client/cli/main.ts) with Node's own type stripping, no build.
// Node >= 22.18 strips types by default; on 22.12-22.17 this shim re-runs itself with
// --experimental-transform-types, in its own process group so each signal reaches it exactly once.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`colmeia needs Node.js >= 22.12 (this is ${process.version})\n`);
  process.exit(1);
}

const reexecuted = process.env.COLMEIA_REEXEC === "1";
delete process.env.COLMEIA_REEXEC;
if (reexecuted && process.channel) {
  // Started by the shim below: go when it goes, and do not let the channel keep us alive.
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

// Transformation is a superset of stripping: on Nodes without default stripping, use it outright.
if (!process.features.typescript) await reexec("--experimental-transform-types");
else await run();

async function run() {
  let cli;
  try {
    cli = await import(new URL("../client/cli/main.ts", import.meta.url).href);
    // `volunteer` loads its modules lazily; load them now so the safety net below covers them.
    if (process.argv[2] === "volunteer") await import(new URL("../client/node/volunteer.ts", import.meta.url).href);
  } catch (error) {
    // Safety net: a module using TypeScript that stripping cannot erase (an enum, a parameter
    // property) still runs with transformation rather than not at all.
    const unerasable = ["ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX", "ERR_INVALID_TYPESCRIPT_SYNTAX"].includes(error?.code);
    if (unerasable && process.features.typescript === "strip" && !reexecuted) return reexec("--experimental-transform-types");
    throw error;
  }
  process.stdout.on("error", (error) => {
    if (error.code === "EPIPE") process.exit(0); // e.g. `colmeia list | head -1`
  });
  const code = await cli.main(process.argv.slice(2));
  // Exit only once stdout has drained: a large --json result on a pipe must arrive whole.
  process.stdout.write("", () => process.exit(code));
}

function reexec(flag) {
  if (reexecuted) {
    process.stderr.write(`colmeia: this Node.js (${process.version}) cannot run TypeScript with ${flag}\n`);
    process.exit(1);
  }
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [flag, "--disable-warning=ExperimentalWarning", script, ...process.argv.slice(2)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    detached: true,
    env: { ...process.env, COLMEIA_REEXEC: "1" },
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  return new Promise(() => {
    child.on("exit", (code, signal) => {
      if (!signal) process.exit(code ?? 1);
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    });
  });
}

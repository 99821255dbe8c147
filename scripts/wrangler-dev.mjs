// `npm run dev`, run by its leash: `wrangler dev`, which rebuilds and reloads the Worker when its
// code changes (and the browser bundles when client/ or shared/ do: wrangler.toml [build]), its
// output printed by log-format.mjs. Takes wrangler dev's own flags.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { printer } from "./log-format.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Starts wrangler dev; `exited` resolves with its exit code once its last line is printed. */
export async function run(args) {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  const extra = [
    // wrangler's own threshold: "info" lets the coordinator's info lines (console.info) through.
    "--log-level",
    process.env.WRANGLER_LOG_LEVEL ?? "info",
    "--show-interactive-dev-session=false",
  ];
  const child = spawn(process.execPath, [wrangler, "dev", ...extra, ...args], { cwd: root, stdio: ["inherit", "pipe", "pipe"] });
  const print = printer({ json: process.env.LOG_FORMAT === "json" });
  const streams = ["stdout", "stderr"].map((from) => {
    const lines = createInterface({ input: child[from], crlfDelay: Infinity });
    lines.on("line", (line) => print(line, from));
    return once(lines, "close");
  });
  const exited = Promise.all([once(child, "exit"), ...streams]).then(([[code]]) => code ?? 1);
  return { exited, stop: () => (child.kill("SIGINT"), exited) };
}

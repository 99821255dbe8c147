/**
 * Builds the volunteer page's bundles (volunteer.js, kernel-worker.js) as they were at a git
 * commit, into a temporary folder, without touching the working tree: the sources come from
 * `git archive`, the dependencies from this checkout's node_modules.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "../..");

/** Returns the folder holding the two bundles built from `ref`. */
export async function bundlesAt(ref: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "colmeia-bundles-"));
  const src = join(dir, "src");
  execFileSync("sh", ["-c", `mkdir -p "${src}" && git -C "${root}" archive "${ref}" client shared | tar -x -C "${src}"`]);
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
  await build({
    absWorkingDir: src,
    entryPoints: [
      { in: join(src, "client/page/main.ts"), out: "volunteer" },
      { in: join(src, "client/page/kernel-worker.ts"), out: "kernel-worker" },
    ],
    outdir: dir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    logLevel: "warning",
  });
  return dir;
}

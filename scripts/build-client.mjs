#!/usr/bin/env node
// Bundles the browser code into public/build/ (gitignored), where the Worker's static assets
// serve it. wrangler runs this itself before `wrangler dev` and `wrangler deploy`
// (wrangler.toml [build]); `npm run build` runs it by hand. `--watch` rebuilds on change.
import { build, context } from "esbuild";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every browser bundle: source entry point → public/build/<name>.js. Add a line per page or worker. */
export const ENTRIES = {
  volunteer: "client/page/main.ts",
  "kernel-worker": "client/page/kernel-worker.ts",
  dashboard: "client/dashboard/main.ts",
};

/** The entries whose source exists; one not written yet is skipped with a warning, never fatal. */
function presentEntries(entries) {
  return Object.entries(entries).filter(([out, src]) => {
    if (existsSync(join(root, src))) return true;
    console.warn(`build-client: skipping ${out} (${src} does not exist yet)`);
    return false;
  });
}

/** esbuild options for the browser bundles (ES modules, minified, with source maps). */
export function buildOptions(entries = ENTRIES) {
  return {
    absWorkingDir: root,
    entryPoints: presentEntries(entries).map(([out, src]) => ({ in: join(root, src), out })),
    outdir: join(root, "public/build"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  };
}

/** Builds every entry once and returns the sizes in bytes of the emitted bundles. */
export async function buildClient(entries = ENTRIES) {
  const result = await build(buildOptions(entries));
  const sizes = {};
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith(".js")) sizes[file.replace(/^public\//, "/")] = bytes;
  }
  return sizes;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--watch")) {
    const ctx = await context(buildOptions());
    await ctx.watch();
    console.log("build-client: watching client/ and shared/ for changes");
  } else {
    const sizes = await buildClient();
    const list = Object.entries(sizes).map(([file, bytes]) => `${file} ${(bytes / 1024).toFixed(1)} KiB`);
    console.log(`build-client: ${list.join(", ")}`);
  }
}

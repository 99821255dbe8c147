import { resolve } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");

/** The source files and packages esbuild puts into a browser bundle of `entry`. */
async function bundleInputs(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    outdir: "out", // never written: write is false
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return Object.keys(result.metafile.inputs);
}

describe("browser bundles", () => {
  // zod is the coordinator's (about 95 KiB minified): the client reads answers by their types.
  it.each([
    ["a page using the typed client", "client/api/index.ts"],
    ["the dashboard", "client/dashboard/main.ts"],
    ["the volunteer page", "client/page/main.ts"],
  ])("keeps zod and the wire schemas out of %s", async (_what, entry) => {
    const inputs = await bundleInputs(entry);
    expect(inputs.length).toBeGreaterThan(3);
    expect(inputs.filter((input) => /node_modules\/zod\/|shared\/schemas\.ts$/.test(input))).toEqual([]);
  });
});

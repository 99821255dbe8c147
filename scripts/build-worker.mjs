// Bundles the coordinator Worker for `npm start` as `wrangler deploy` would: one ES module (esbuild,
// wrangler's target and conditions, none of wrangler dev's middleware), plus a module of its own for
// each .wasm, .txt, .html, .sql or .bin file the code imports (wrangler's default module rules).
// Nothing is written to disk: the modules go to Miniflare in memory.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/** wrangler's default module rules: file ending → Miniflare module type. */
const RULES = [
  [/\.wasm(\?module)?$/, "CompiledWasm"],
  [/\.(txt|html|sql)$/, "Text"],
  [/\.bin$/, "Data"],
];

/**
 * Builds `entry` (relative to `root`) and returns the Worker's modules, entry first, in Miniflare's
 * `{ type, path, contents }` shape with paths under `modulesRoot`.
 * @example const modules = await buildWorker({ root, entry: "coordinator/index.ts", modulesRoot: "/worker" });
 */
export async function buildWorker({ root, entry, modulesRoot, define = {} }) {
  /** Imported files that stay modules of their own: source path → their module name and type. */
  const extra = new Map();
  const again = Symbol("resolving");
  const attachments = {
    name: "worker-modules",
    setup(b) {
      for (const [filter, type] of RULES) {
        b.onResolve({ filter }, async ({ path, resolveDir, kind, pluginData }) => {
          if (pluginData === again) return undefined;
          const found = await b.resolve(path.replace(/\?module$/, ""), { resolveDir, kind, pluginData: again });
          if (found.errors.length) return { errors: found.errors };
          if (!extra.has(found.path)) extra.set(found.path, { name: `${extra.size}-${basename(found.path)}`, type });
          return { path: `./${extra.get(found.path).name}`, external: true };
        });
      }
    },
  };
  const result = await build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    outfile: join(modulesRoot, "index.js"),
    write: false,
    bundle: true,
    format: "esm",
    target: "es2024",
    supported: { "import-source": true, using: true },
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    keepNames: true,
    define: { "process.env.NODE_ENV": '"production"', ...define },
    plugins: [attachments],
    logLevel: "warning",
  });
  const [bundle] = result.outputFiles;
  return [
    { type: "ESModule", path: bundle.path, contents: bundle.text },
    ...[...extra].map(([source, { name, type }]) => ({ type, path: join(modulesRoot, name), contents: readFileSync(source) })),
  ];
}

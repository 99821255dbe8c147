import { readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { LIMITS } from "../../../shared/limits.ts";
import { UsageError } from "../exit.ts";
import { formatSize } from "./size.ts";

/** A kernel's code as `POST /v1/kernels` carries it. */
export type KernelCode = { language: "js"; source: string; bytes: number } | { language: "wasm"; wasm: string; bytes: number };

const SCRIPT = new Set([".ts", ".mts", ".js", ".mjs"]);
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A readable message for one esbuild problem: `file:line:col: text`. */
interface BuildMessage {
  text: string;
  location?: { file: string; line: number; column: number } | null;
}
const describeMessage = ({ text, location: at }: BuildMessage) => (at ? `${at.file}:${at.line}:${at.column + 1}: ${text}` : text);

function checkFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  if (!isFile) throw new UsageError(`${path}: not a file`);
}

function checkSize(path: string, bytes: number): void {
  if (bytes > LIMITS.kernelModuleBytes) {
    throw new Error(`${path}: the module is ${formatSize(bytes)}; a kernel may be at most ${formatSize(LIMITS.kernelModuleBytes)}`);
  }
}

/**
 * Bundles a TypeScript or JavaScript kernel and everything it imports into ONE readable ES
 * module with no import declarations (`js/1`): esbuild, platform neutral, es2022, not minified,
 * so volunteers can read what they run.
 */
export async function bundleKernel(path: string): Promise<string> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error("publishing a .ts/.js kernel needs esbuild (npm install esbuild), or publish a bundled .js");
  }
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [resolve(path)],
      // Paths in the bundle's comments are relative to the kernel's folder, so the module (and
      // the id derived from it) is the same whichever folder `colmeia` runs in.
      absWorkingDir: dirname(resolve(path)),
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2022",
      minify: false,
      charset: "utf8",
      legalComments: "inline",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
  } catch (error) {
    const errors = ((error as { errors?: BuildMessage[] }).errors ?? []).map(describeMessage);
    const hint = errors.some((e) => /Could not resolve "(node:)?\w/.test(e))
      ? " (a kernel is pure computation: it cannot import Node, browser or network modules)"
      : "";
    throw new Error(`could not bundle ${path}: ${errors.length ? errors.join("; ") : (error as Error).message}${hint}`);
  }
  const output = Object.values(result.metafile.outputs)[0];
  const [file] = result.outputFiles;
  if (!output || !file) throw new Error(`could not bundle ${path}: esbuild produced no output`);
  if (output.imports.length > 0) {
    throw new Error(`could not bundle ${path}: it still imports ${output.imports.map((i) => i.path).join(", ")}; a kernel must be one self-contained module`);
  }
  if (!output.exports.includes("compute")) {
    throw new Error(`${path} does not export compute: a js/1 kernel is \`export function compute(input, params) { ... }\``);
  }
  return file.text;
}

/**
 * Reads a kernel file for publishing: `.ts`/`.mts`/`.js`/`.mjs` are bundled into one `js/1`
 * module, `.wasm` is sent as-is (base64) as `wasm/1`. Usage errors for a missing file or an
 * unknown extension; plain errors for a bundle that fails or a file that is not WebAssembly.
 * @example await readKernelFile("examples/monte-carlo-pi/kernel.ts") // { language: "js", source: "...", bytes: 1234 }
 */
export async function readKernelFile(path: string): Promise<KernelCode> {
  const ext = extname(path).toLowerCase();
  if (!SCRIPT.has(ext) && ext !== ".wasm") {
    throw new UsageError(`${path}: a kernel file ends in .ts, .mts, .js, .mjs (js/1) or .wasm (wasm/1), not ${ext ? JSON.stringify(ext) : "nothing"}`);
  }
  checkFile(path);
  if (ext === ".wasm") {
    const bytes = readFileSync(path);
    if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`${path} is not a WebAssembly module (no \\0asm header)`);
    checkSize(path, bytes.length);
    return { language: "wasm", wasm: bytes.toString("base64"), bytes: bytes.length };
  }
  const source = await bundleKernel(path);
  const bytes = Buffer.byteLength(source);
  checkSize(path, bytes);
  return { language: "js", source, bytes };
}

/**
 * The name a kernel gets when `--name` is not given: the file's name without its extension,
 * made to fit the contract (letters, digits, `.`, `_`, `-`; starting with a letter or digit).
 * @example defaultKernelName("src/monte-carlo pi.ts") // "monte-carlo-pi"
 */
export function defaultKernelName(path: string): string {
  const name = basename(path, extname(path))
    .replace(/[^\w.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 100);
  return name || "kernel";
}

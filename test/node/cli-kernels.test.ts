import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishBody } from "../../client/cli/commands/kernel.ts";
import { compute as collatz } from "../../examples/collatz-wasm/collatz.ts";
import { loadWasmKernel } from "../../examples/collatz-wasm/wasm-host.ts";
import { compute as monteCarlo } from "../../examples/monte-carlo-pi/kernel.ts";
import { LIMITS } from "../../shared/limits.ts";
import { startVolunteerProcess, stopVolunteerProcess } from "../support/volunteer-process.ts";
import { COLMEIA_BIN, runColmeia } from "../support/cli.ts";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";

// Kernels you bring, through the real `colmeia` binary against a real local coordinator
// (npm start): the two examples in examples/ published, listed, and computed by a Node volunteer.

const root = resolve(import.meta.dirname, "../..");
const piKernel = join(root, "examples/monte-carlo-pi/kernel.ts");
const collatzDir = join(root, "examples/collatz-wasm");
const collatzWasm = join(collatzDir, "build/collatz.wasm");
const COLLATZ_REDUCE = '{"maxSteps":"max","totalSteps":"sum"}';
const work = mkdtempSync(join(tmpdir(), "colmeia-kernels-"));
let server: LocalServer;

/** The CLI with this server and the first token; `env` adds or overrides variables. */
const colmeia = (args: string[], env: Record<string, string> = {}) =>
  runColmeia(args, { env: { COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0], ...env } });

/** The raw HTTP answer's text, for comparing `--json` with it byte for byte. */
async function http(method: string, path: string, body?: unknown, token = server.tokens[0]) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** Compiles the AssemblyScript example with exactly the example's own `npm run build` command line. */
async function buildCollatz(): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(collatzDir, "package.json"), "utf8")) as { scripts: { build: string } };
  const [command, ...args] = pkg.scripts.build.split(/\s+/);
  expect(command).toBe("asc");
  await promisify(execFile)(process.execPath, [join(root, "node_modules/assemblyscript/bin/asc.js"), ...args], { cwd: collatzDir });
}

/** A `colmeia volunteer` in the background; resolves once it has registered. */
const volunteer = (threads: number) => startVolunteerProcess(server.url, ["--threads", String(threads)]);

const stop = stopVolunteerProcess;

/** The memory section's declared limits, in 64 KiB pages (WebAssembly binary format §5.5.5). */
function memoryLimits(bytes: Uint8Array): { initial: number; maximum?: number } {
  let at = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = leb();
    if (id !== 5) {
      at += size;
      continue;
    }
    leb(); // one memory
    const flags = bytes[at++]!;
    const initial = leb();
    return flags & 1 ? { initial, maximum: leb() } : { initial };
  }
  throw new Error("no memory section");
}

const kernelId = /^k_[0-9a-f]{32}$/;
const ids: { pi?: string; collatz?: string } = {};

beforeAll(async () => {
  [server] = await Promise.all([startLocalServer(), buildCollatz()]);
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("colmeia kernel", () => {
  it("publishes the Monte Carlo TypeScript example as one js/1 module and prints only its id", async () => {
    const run = await colmeia(["kernel", "publish", piKernel, "--name", "monte-carlo-pi", "--reduce", "sum", "--description", "π by darts"]);
    expect(run.stderr).toMatch(/^Published monte-carlo-pi \(js\/1, [\d.]+ (B|KiB), reduce sum\):\n$/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^k_[0-9a-f]{32}\n$/);
    ids.pi = run.stdout.trim();

    const manifest = JSON.parse((await http("GET", `/v1/kernels/${ids.pi}`)).text);
    expect(manifest).toMatchObject({ id: ids.pi, name: "monte-carlo-pi", language: "js", reduce: "sum", description: "π by darts" });
    // Bundled: random.ts is inside, and nothing is imported.
    const body = await publishBody(piKernel, { reduce: "sum" });
    expect(body.language === "js" && body.source).toMatch(/function uniform\(/);
    expect(body.language === "js" && body.source).not.toMatch(/^\s*import\b/m);
  });

  it("compiles the AssemblyScript example to a module that imports nothing and caps its memory, and publishes it as wasm/1", async () => {
    const module = new WebAssembly.Module(readFileSync(collatzWasm));
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    expect(
      WebAssembly.Module.exports(module)
        .map((e) => e.name)
        .sort(),
    ).toEqual(["alloc", "compute", "memory"]);
    const limits = memoryLimits(readFileSync(collatzWasm));
    expect(limits.maximum).toBeDefined();
    expect(limits.maximum!).toBeLessThanOrEqual(LIMITS.wasmMaxPages);

    const run = await colmeia(["kernel", "publish", collatzWasm, "--name", "collatz", "--reduce", COLLATZ_REDUCE]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^Published collatz \(wasm\/1, .*reduce maxSteps:max, totalSteps:sum\):\n$/);
    expect(run.stdout.trim()).toMatch(kernelId);
    ids.collatz = run.stdout.trim();
  });

  it("answers the same id when the same kernel is published again, from any folder", async () => {
    const again = await colmeia(["kernel", "publish", piKernel, "--name", "monte-carlo-pi", "--reduce", "sum", "--description", "π by darts"]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(ids.pi);
    expect(again.stderr).toMatch(/^Already published monte-carlo-pi/);

    const elsewhere = spawn(
      process.execPath,
      [COLMEIA_BIN, "kernel", "publish", "kernel.ts", "--name", "monte-carlo-pi", "--reduce", "sum", "--description", "π by darts"],
      {
        cwd: join(root, "examples/monte-carlo-pi"),
        env: { ...process.env, COLMEIA_URL: server.url, COLMEIA_TOKEN: server.tokens[0] },
      },
    );
    let stdout = "";
    elsewhere.stdout.on("data", (d) => (stdout += d));
    await new Promise((ok) => elsewhere.on("close", ok));
    expect(stdout.trim()).toBe(ids.pi);
  });

  it("prints with --json exactly what the coordinator answers", async () => {
    const flags = { name: "collatz", reduce: COLLATZ_REDUCE };
    const published = await colmeia(["kernel", "publish", collatzWasm, "--name", flags.name, "--reduce", flags.reduce, "--json"]);
    const direct = await http("POST", "/v1/kernels", await publishBody(collatzWasm, flags));
    expect(direct.status).toBe(200);
    expect(published.stdout).toBe(`${direct.text}\n`);

    expect((await colmeia(["kernel", "list", "--json"])).stdout).toBe(`${(await http("GET", "/v1/kernels")).text}\n`);
    expect((await colmeia(["kernel", "show", ids.pi!, "--json"])).stdout).toBe(`${(await http("GET", `/v1/kernels/${ids.pi}`)).text}\n`);
  });

  it("lists the built-ins and this token's kernels in a table, and keeps them from other tokens", async () => {
    const list = await colmeia(["kernel", "list"]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+LANGUAGE\s+REDUCE\s+SIZE\s+PUBLISHED$/);
    expect(list.stdout).toMatch(/^primes\.count\s+primes\.count\s+built-in$/m);
    expect(list.stdout).toMatch(new RegExp(`^${ids.pi}\\s+monte-carlo-pi\\s+js/1\\s+sum\\s`, "m"));
    expect(list.stdout).toMatch(new RegExp(`^${ids.collatz}\\s+collatz\\s+wasm/1\\s+maxSteps:max, totalSteps:sum\\s`, "m"));

    const other = { COLMEIA_TOKEN: server.tokens[1] };
    expect((await colmeia(["kernel", "list"], other)).stdout).not.toContain(ids.pi);
    const stranger = await colmeia(["kernel", "show", ids.pi!], other);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/^error: .*HTTP 404/);
  });

  it("says in one line what is wrong with a kernel file, and exits non-zero", async () => {
    const cases: [string[], number, RegExp][] = [];
    cases.push([["missing.ts"], 2, /missing\.ts: no such file/]);
    cases.push([[join(root, "README.md")], 2, /ends in \.ts, \.mts, \.js, \.mjs \(js\/1\) or \.wasm \(wasm\/1\), not "\.md"/]);
    writeFileSync(join(work, "broken.ts"), "export function compute(input {\n");
    cases.push([[join(work, "broken.ts")], 1, /could not bundle .*broken\.ts: broken\.ts:1:\d+: /]);
    writeFileSync(join(work, "uses-fs.ts"), 'import { readFileSync } from "node:fs";\nexport const compute = () => readFileSync("/etc/passwd");\n');
    cases.push([[join(work, "uses-fs.ts")], 1, /Could not resolve "node:fs" \(a kernel is pure computation/]);
    writeFileSync(join(work, "no-compute.js"), "export function run() { return 1; }\n");
    cases.push([[join(work, "no-compute.js")], 1, /does not export compute/]);
    writeFileSync(join(work, "text.wasm"), "not really wasm");
    cases.push([[join(work, "text.wasm")], 1, /is not a WebAssembly module/]);
    // A well-formed module that imports env.f: only the coordinator's own check refuses it.
    const importing = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 9, 1, 3, 0x65, 0x6e, 0x76, 1, 0x66, 0, 0];
    writeFileSync(join(work, "imports.wasm"), Uint8Array.from(importing));
    cases.push([[join(work, "imports.wasm")], 1, /^error: wasm: .*import.*\(HTTP 400 /]);
    cases.push([[piKernel, "--reduce", "average"], 2, /--reduce must be sum, min, max, collect or a JSON object/]);

    for (const [args, code, message] of cases) {
      const run = await colmeia(["kernel", "publish", ...(args.includes("--reduce") ? args : [...args, "--reduce", "sum"])]);
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code, stdout: "" });
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    // Nothing refused was stored.
    const { kernels } = JSON.parse((await http("GET", "/v1/kernels")).text) as { kernels: { builtin?: boolean }[] };
    expect(kernels.filter((k) => !k.builtin)).toHaveLength(2);
  });
});

describe("jobs on published kernels, computed by a Node volunteer", () => {
  it("gives the Monte Carlo job's result exactly as a direct computation, and π from it", { timeout: 180_000 }, async () => {
    const v = await volunteer(2);
    try {
      const submitted = await colmeia(["submit", ids.pi!, "--range", "0:2_000_000:200_000", "--params", '{"seed":7}', "--replicas", "1", "--watch", "--quiet"]);
      expect(submitted.stderr).not.toMatch(/failed|cancelled/);
      expect(submitted.code).toBe(0);
      const job = submitted.stdout.trim();
      expect(job).toMatch(/^j_/);
      const { result } = JSON.parse((await colmeia(["result", job, "--json"])).stdout);
      expect(result).toEqual(monteCarlo({ start: 0, end: 2_000_000 }, { seed: 7 }));
      expect(Math.abs((4 * result.inside) / result.total - Math.PI)).toBeLessThan(0.01);
    } finally {
      await stop(v);
    }
  });

  it("merges the WASM Collatz shards to what the JS twin and the module itself compute directly", { timeout: 180_000 }, async () => {
    const v = await volunteer(2);
    try {
      const run = await colmeia(["submit", ids.collatz!, "--range", "1:200_001:20_000", "--replicas", "1", "--watch", "--json"]);
      expect(run.code).toBe(0);
      const final = JSON.parse(run.stdout);
      expect(final).toMatchObject({ state: "done", shards: { total: 10, done: 10, failed: 0 } });
      const { result } = JSON.parse((await colmeia(["result", final.id, "--json"])).stdout);
      const wasm = await loadWasmKernel(readFileSync(collatzWasm));
      expect(result).toEqual(collatz({ start: 1, end: 200_001 }));
      expect(result).toEqual(wasm({ start: 1, end: 200_001 }));

      // Two jobs' results merged by `colmeia result` with the kernel's declared reduce, as one job would be.
      const second = await colmeia(["submit", ids.collatz!, "--range", "200_001:300_001:50_000", "--replicas", "1", "--watch", "--quiet"]);
      expect(second.code).toBe(0);
      const merged = JSON.parse((await colmeia(["result", final.id, second.stdout.trim(), "--json"])).stdout);
      expect(merged).toEqual({ ids: [final.id, second.stdout.trim()], result: collatz({ start: 1, end: 300_001 }) });
    } finally {
      await stop(v);
    }
  });
});

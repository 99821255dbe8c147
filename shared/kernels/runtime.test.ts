import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runJsInQuickJs } from "../../client/node/quickjs-kernel.ts";
import { createKernelRuntime } from "./runtime.ts";
import type { KernelModule, KernelTask } from "./task.ts";
import { boundsProblem } from "./wasm-bounds.ts";
import { wasmModule } from "../../test/support/wasm-bytes.ts";

const runtime = createKernelRuntime(runJsInQuickJs);
const sumBytesWasm = new Uint8Array(readFileSync(new URL("../../test/fixtures/sum-bytes.wasm", import.meta.url)));
const utf8 = new TextEncoder();

const module = (language: "js" | "wasm", bytes: Uint8Array | string): KernelModule => ({
  language,
  sha256: `test-${Math.random()}`,
  bytes: typeof bytes === "string" ? utf8.encode(bytes) : bytes,
});
const task = (m: KernelModule, input: unknown, params: unknown = {}): KernelTask => ({ kernel: "k_test", params, input, module: m, timeLimitMs: 2000 });

/** A minimal module: one memory with these limits, exported, and nothing else. */
function memoryOnlyWasm(limits: number[]): Uint8Array {
  const memory = [0x01, ...limits];
  const exports = [0x01, 0x06, ..."memory"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c));
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(5, memory), ...section(7, [...exports, 0x02, 0x00])]);
}

describe("kernel runtime", () => {
  it("runs the built-in kernels by own name only", async () => {
    expect(await runtime.compute({ kernel: "primes.count", params: {}, input: { start: 0, end: 100 } })).toEqual({ ok: true, output: { count: 25 } });
    expect(await runtime.compute({ kernel: "constructor", params: {}, input: {} })).toMatchObject({ ok: false, cannotRun: true });
    expect(await runtime.compute({ kernel: "toString", params: {}, input: {} })).toMatchObject({ ok: false, cannotRun: true });
  });

  it("runs a wasm/1 module (AssemblyScript fixture) on JSON input and on raw bytes, a fresh instance per shard", async () => {
    const wasm = module("wasm", sumBytesWasm);
    const json = JSON.stringify({ n: [1, 2, 3] });
    const expected = { bytes: json.length, sum: [...utf8.encode(json)].reduce((a, b) => a + b, 0), paramsBytes: JSON.stringify({ k: 1 }).length };
    expect(await runtime.compute(task(wasm, { n: [1, 2, 3] }, { k: 1 }))).toEqual({ ok: true, output: expected });
    expect(await runtime.compute(task(wasm, new Uint8Array([250, 250, 250]), {}))).toEqual({ ok: true, output: { bytes: 3, sum: 750, paramsBytes: 2 } });
    // The stub allocator never frees: the same answer twice means each shard had its own memory.
    expect(await runtime.compute(task(wasm, { n: [1, 2, 3] }, { k: 1 }))).toEqual({ ok: true, output: expected });
  });

  it("refuses wasm modules whose memory may grow past 1 GiB or has no maximum", async () => {
    expect(boundsProblem(sumBytesWasm)).toBeUndefined();
    expect(boundsProblem(memoryOnlyWasm([0x01, 0x01, 0x02]))).toBeUndefined();
    expect(boundsProblem(memoryOnlyWasm([0x00, 0x01]))).toBe("memory 0 declares no maximum");
    expect(boundsProblem(memoryOnlyWasm([0x01, 0x01, 0x81, 0x80, 0x01]))).toMatch(/16385 pages; at most 16384/);
    const reply = await runtime.compute(task(module("wasm", memoryOnlyWasm([0x00, 0x01])), 1));
    expect(reply).toEqual({ ok: false, error: "Error: wasm/1: memory 0 declares no maximum" });
    expect(await runtime.compute(task(module("wasm", memoryOnlyWasm([0x01, 0x01, 0x02])), 1))).toEqual({
      ok: false,
      error: "Error: wasm/1: the module must export memory, alloc and compute",
    });
  });

  it("refuses wasm modules with more than one memory, GC types or an unbounded table, whatever the coordinator let in", async () => {
    expect(boundsProblem(wasmModule())).toBeUndefined();
    expect(boundsProblem(wasmModule({ extraMemories: 1 }))).toBe("defines 2 memories; a wasm/1 kernel defines exactly one");
    expect(boundsProblem(wasmModule({ extraTypes: [[0x5e, 0x78, 0x01]] }))).toMatch(/GC types/);
    expect(boundsProblem(wasmModule({ extraTypes: [[0x60, 0x01, 0x64, 0x00, 0x00]] }))).toMatch(/GC types/);
    expect(boundsProblem(wasmModule({ tables: [{ min: 1, max: 1 }] }))).toBeUndefined();
    expect(boundsProblem(wasmModule({ tables: [{ min: 1 }] }))).toBe("table 0 declares no maximum");
    const reply = await runtime.compute(task(module("wasm", wasmModule({ extraMemories: 7 })), 1));
    expect(reply).toEqual({ ok: false, error: "Error: wasm/1: defines 8 memories; a wasm/1 kernel defines exactly one" });
  });

  it("runs a js/1 module in QuickJS to the exact result, awaiting a Promise", async () => {
    const source = `
      const collatz = (n) => { let steps = 0; while (n !== 1) { n = n % 2 ? 3 * n + 1 : n / 2; steps++; } return steps; };
      export async function compute(input, params) {
        let best = { n: 0, steps: -1 };
        for (let n = input.start; n < input.end; n++) { const s = collatz(n); if (s > best.steps) best = { n, steps: s }; }
        return { ...best, tag: params.tag };
      }`;
    expect(await runtime.compute(task(module("js", source), { start: 1, end: 10_000 }, { tag: "x" }))).toEqual({
      ok: true,
      output: { n: 6171, steps: 261, tag: "x" },
    });
    const bytes = "export const compute = (input) => Array.from(input).reduce((a, b) => a + b, 0);";
    expect(await runtime.compute(task(module("js", bytes), new Uint8Array([1, 2, 250])))).toEqual({ ok: true, output: 253 });
  });

  it("answers a js/1 kernel's failures as errors: throws, no compute, not JSON", async () => {
    const run = (source: string) => runtime.compute(task(module("js", source), {}));
    expect(await run("export function compute() { throw new RangeError('too far') }")).toEqual({ ok: false, error: "RangeError: too far" });
    expect(await run("export const x = 1")).toEqual({ ok: false, error: "Error: js/1: the module exports no compute function" });
    expect(await run("export const compute = () => undefined")).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
    expect(await run("export const compute = () => 'x'.repeat(600000)")).toMatchObject({ ok: false, error: expect.stringMatching(/at most 524288/) });
    expect(await run("export const compute = () => { throw 'x'.repeat(5000) }")).toMatchObject({ ok: false, error: expect.any(String) });
    expect(((await run("export const compute = () => { throw 'x'.repeat(5000) }")) as { error: string }).error).toHaveLength(1000);
  });
});

import { describe, expect, it } from "vitest";
import { inspectJs } from "../../coordinator/kernels/inspect-js.ts";
import { inspectWasm } from "../../coordinator/kernels/inspect-wasm.ts";
import { LIMITS } from "../../shared/limits.ts";
import { echoWasmKernel, F64, I32, I64, kernelStubs, okWasmKernel, uleb, wasmModule } from "../support/wasm-bytes.ts";

const problemOf = (bytes: Uint8Array) => {
  const r = inspectWasm(bytes);
  return r.ok ? undefined : r.problem;
};

describe("inspectWasm", () => {
  it("accepts a module with no imports, a bounded exported memory, alloc and compute", () => {
    expect(inspectWasm(wasmModule())).toEqual({ ok: true, memory: { min: 1, max: 16 } });
    expect(inspectWasm(okWasmKernel)).toEqual({ ok: true, memory: { min: 1, max: 256 } });
    expect(inspectWasm(echoWasmKernel)).toMatchObject({ ok: true });
  });

  it("accepts a memory of exactly 1 GiB and extra exports", () => {
    const extra = { ...kernelStubs(), helper: { params: [F64], results: [], body: [] } };
    expect(inspectWasm(wasmModule({ memory: { min: 2, max: LIMITS.wasmMaxPages }, functions: extra }))).toEqual({
      ok: true,
      memory: { min: 2, max: LIMITS.wasmMaxPages },
    });
  });

  it("refuses any import, naming it", () => {
    expect(problemOf(wasmModule({ imports: [{ module: "env", name: "abort" }] }))).toBe("imports env.abort: a wasm/1 kernel may import nothing");
  });

  it("refuses a memory with no maximum or one above 1 GiB", () => {
    expect(problemOf(wasmModule({ memory: { min: 1 } }))).toMatch(/^memory declares no maximum; .*at most 16384 pages \(1 GiB\)/);
    expect(problemOf(wasmModule({ memory: { min: 1, max: LIMITS.wasmMaxPages + 1 } }))).toBe("memory maximum is 16385 pages; at most 16384 pages (1 GiB)");
  });

  it("refuses more than one memory, and GC struct or array types: no bound would hold", () => {
    expect(problemOf(wasmModule({ extraMemories: 1 }))).toBe("defines 2 memories; a wasm/1 kernel defines exactly one, its exported memory");
    expect(problemOf(wasmModule({ extraMemories: 7, memory: { min: 1, max: 1 } }))).toMatch(/^defines 8 memories/);
    expect(problemOf(wasmModule({ extraTypes: [[0x5e, 0x78, 0x01]] }))).toMatch(/^declares WebAssembly GC struct or array types/);
    expect(problemOf(wasmModule({ extraTypes: [[0x5f, 0x01, 0x7f, 0x01]] }))).toMatch(/^declares WebAssembly GC struct or array types/);
    expect(problemOf(wasmModule({ extraTypes: [[0x4e, 0x01, 0x5e, 0x7f, 0x01]] }))).toMatch(/^declares WebAssembly GC struct or array types/);
  });

  it("takes one bounded table and refuses more tables, or one with no maximum or more than 65,536 entries", () => {
    expect(inspectWasm(wasmModule({ tables: [{ min: 1, max: 1 }] }))).toMatchObject({ ok: true });
    expect(inspectWasm(wasmModule({ tables: [{ min: 0, max: 65_536 }] }))).toMatchObject({ ok: true });
    expect(problemOf(wasmModule({ tables: [{ min: 1 }] }))).toBe("table 0 declares no maximum");
    expect(problemOf(wasmModule({ tables: [{ min: 1, max: 65_537 }] }))).toBe("table 0 may grow to 65537 entries; at most 65536");
    expect(
      problemOf(
        wasmModule({
          tables: [
            { min: 1, max: 2 },
            { min: 1, max: 2 },
          ],
        }),
      ),
    ).toBe("defines 2 tables; a wasm/1 kernel defines at most one");
  });

  it("refuses what every volunteer would refuse: typed references in a function type", () => {
    expect(problemOf(wasmModule({ extraTypes: [[0x60, 0x01, 0x64, 0x00, 0x00]] }))).toBe(
      "declares WebAssembly GC types, whose objects no memory maximum bounds",
    );
  });

  it("refuses memory64 and shared memories", () => {
    expect(problemOf(wasmModule({ memory: { min: 1, max: 2, flags: 0x05 } }))).toMatch(/memory64/);
    expect(problemOf(wasmModule({ memory: { min: 1, max: 2, flags: 0x03 } }))).toMatch(/shared/);
  });

  it("refuses a module whose memory is missing, private or exported under another name", () => {
    expect(problemOf(wasmModule({ memory: false }))).toMatch(/^missing export memory/);
    expect(problemOf(wasmModule({ exportMemoryAs: false }))).toMatch(/^missing export memory/);
    expect(problemOf(wasmModule({ exportMemoryAs: "mem" }))).toMatch(/^missing export memory/);
  });

  it("refuses missing alloc or compute", () => {
    const { alloc, compute } = kernelStubs();
    expect(problemOf(wasmModule({ functions: { compute: compute! } }))).toMatch(/^missing export alloc: .*alloc\(size: i32\) -> i32/);
    expect(problemOf(wasmModule({ functions: { alloc: alloc! } }))).toMatch(/^missing export compute/);
  });

  it("refuses alloc or compute of the wrong type, showing the type it has", () => {
    const stubs = kernelStubs();
    const badAlloc = { ...stubs, alloc: { params: [I64], results: [I32], body: [0x41, 0x00] } };
    expect(problemOf(wasmModule({ functions: badAlloc }))).toBe("export alloc has type (i64) -> (i32); a wasm/1 kernel exports alloc(size: i32) -> i32");
    const badCompute = { ...stubs, compute: { params: [I32, I32], results: [I64], body: [0x42, 0x00] } };
    expect(problemOf(wasmModule({ functions: badCompute }))).toMatch(
      /^export compute has type \(i32, i32\) -> \(i64\); a wasm\/1 kernel exports compute\(inPtr: i32/,
    );
    const noResult = { ...stubs, compute: { params: [I32, I32, I32, I32], results: [], body: [] } };
    expect(problemOf(wasmModule({ functions: noResult }))).toMatch(/^export compute has type \(i32, i32, i32, i32\) -> \(\)/);
  });

  it("refuses bytes that are not a wasm module, or another version", () => {
    expect(problemOf(new TextEncoder().encode("export function compute() {}"))).toMatch(/^not a wasm module/);
    expect(problemOf(new Uint8Array([0x00, 0x61, 0x73]))).toMatch(/^not a wasm module/);
    expect(problemOf(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00]))).toMatch(/version 2 is not supported/);
  });

  it("refuses every truncation of a valid module", () => {
    // The echo kernel ends with its code section, so no prefix of it is a complete module.
    for (let n = 0; n < echoWasmKernel.length; n++) expect(inspectWasm(echoWasmKernel.subarray(0, n)).ok, `first ${n} bytes`).toBe(false);
  });

  it("refuses malformed LEB128 and counts that overrun their section", () => {
    const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    expect(problemOf(new Uint8Array([...header, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatch(/malformed LEB128/);
    expect(problemOf(new Uint8Array([...header, 0x01, 0x05, ...uleb(2 ** 32 - 1), 0x00]))).toMatch(/^malformed wasm module: a count of 4294967295/);
    expect(problemOf(new Uint8Array([...header, 0x03, 0x10, 0x00]))).toMatch(/section 3 declares 16 bytes/);
  });

  it("refuses a module over the size limit without reading it", () => {
    expect(problemOf(new Uint8Array(LIMITS.kernelModuleBytes + 1))).toBe(
      `module is ${LIMITS.kernelModuleBytes + 1} bytes; at most ${LIMITS.kernelModuleBytes}`,
    );
  });

  it("never throws on random mutations of a valid module", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    for (let i = 0; i < 3000; i++) {
      const bytes = okWasmKernel.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
      const result = inspectWasm(bytes);
      expect(typeof result.ok).toBe("boolean");
    }
  });
});

describe("inspectJs", () => {
  it("accepts every way of exporting compute", () => {
    for (const source of [
      "export function compute(input, params) { return input; }",
      "export async function compute(input) { return await input; }",
      "export const compute = (input) => input;",
      "function compute(i) { return i; }\nexport { compute };",
      "const run = (i) => i;\nexport { run as compute };",
      "const run = (i) => i;\nexport { run as 'compute' };",
      "export const { compute } = { compute: (i) => i };",
      "export function* helper() {}\nexport let compute = function (i) { return i; };",
    ]) {
      expect(inspectJs(source), source).toBeUndefined();
    }
  });

  it("refuses import declarations, naming the line", () => {
    const source = "// a kernel\n\nimport { x } from './x.js';\nexport function compute() { return x; }";
    expect(inspectJs(source)).toBe("line 3: import declarations are not allowed: a js/1 kernel is one module with no imports");
    expect(inspectJs("import 'side-effect';\nexport function compute() {}")).toMatch(/^line 1: import declarations are not allowed/);
  });

  it("refuses export ... from, which imports too", () => {
    expect(inspectJs("export { compute } from './other.js';")).toMatch(/^line 1: export \.\.\. from imports another module/);
    expect(inspectJs("export function compute() {}\nexport * from 'x';")).toMatch(/^line 2: export \.\.\. from/);
    expect(inspectJs("export function compute() {}\nexport * as ns from 'x';")).toMatch(/^line 2: export \.\.\. from/);
  });

  it("allows dynamic import() expressions, which the sandbox refuses at run time", () => {
    expect(inspectJs("export async function compute() { return (await import('x')).y; }")).toBeUndefined();
    expect(inspectJs("export function compute() { return import.meta.url; }")).toBeUndefined();
  });

  it("refuses a module that does not export compute", () => {
    const missing = /^the module does not export compute/;
    expect(inspectJs("function compute() {}")).toMatch(missing);
    expect(inspectJs("export function Compute() {}")).toMatch(missing);
    expect(inspectJs("export default function compute() {}")).toMatch(missing);
    expect(inspectJs("const compute = 1;\nexport { compute as run };")).toMatch(missing);
    expect(inspectJs("")).toMatch(missing);
  });

  it("refuses syntax errors with line and column", () => {
    expect(inspectJs("export function compute() {\n  return 1 +;\n}")).toBe("syntax error at 2:13: Unexpected token");
    expect(inspectJs("export function compute() { with (x) {} }")).toMatch(/^syntax error at 1:29: /);
    expect(inspectJs("export { missing as compute };")).toMatch(/^syntax error at 1:10: Export 'missing' is not defined/);
  });

  it("refuses a source over the size limit in UTF-8 bytes", () => {
    const comment = `// ${"é".repeat(LIMITS.kernelModuleBytes / 2)}\n`;
    expect(inspectJs(`${comment}export function compute() {}`)).toMatch(/^source is \d+ bytes of UTF-8; at most 4194304/);
  });
});

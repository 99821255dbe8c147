/**
 * Hand-assembled WebAssembly modules for tests: a tiny byte builder (valid type, function, code,
 * memory, global, export and data sections) and ready-made `wasm/1` kernels.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;

/** A function defined in the module: its signature, extra locals and body (instructions, without the final `end`). */
export interface WasmFunction {
  params: number[];
  results: number[];
  locals?: number[];
  body: number[];
}

export interface WasmParts {
  /** Function imports, each of type `() -> ()`. */
  imports?: { module: string; name: string }[];
  /** The module's one memory; `flags` overrides the limits flag byte (1 = has max, 2 = shared, 4 = memory64). Default 1..16 pages. */
  memory?: { min: number; max?: number; flags?: number } | false;
  /** The name the memory is exported under, or false to keep it private. Default `memory`. */
  exportMemoryAs?: string | false;
  /** Defined functions, each exported under its key. Default: `kernelStubs()`. */
  functions?: Record<string, WasmFunction>;
  /** Mutable i32 globals with these initial values. */
  globals?: number[];
  /** Active data segments in memory 0. */
  data?: { offset: number; bytes: Uint8Array }[];
  /** More memories like the first, defined after it (multi-memory). */
  extraMemories?: number;
  /** Raw entries appended to the type section (GC struct or array types, say). */
  extraTypes?: number[][];
  /** Tables of funcref with these limits (none by default). */
  tables?: { min: number; max?: number }[];
}

const utf8 = (text: string) => [...new TextEncoder().encode(text)];

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return out;
}

/** Signed LEB128 (for `i32.const` and `i64.const` immediates). */
export function sleb(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && !(byte & 0x40)) || (n === -1n && byte & 0x40);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (text: string) => [...uleb(utf8(text).length), ...utf8(text)];
const section = (id: number, content: number[]) => (content.length ? [id, ...uleb(content.length), ...content] : []);
const funcType = (params: number[], results: number[]) => [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];

/** `alloc(size: i32) -> i32` and `compute(i32, i32, i32, i32) -> i64` that do nothing useful but have the right types. */
export function kernelStubs(): Record<string, WasmFunction> {
  return {
    alloc: { params: [I32], results: [I32], body: [0x20, 0x00] },
    compute: { params: [I32, I32, I32, I32], results: [I64], body: [0x42, 0x00] },
  };
}

/** Assembles a module from its parts; with no parts, a valid `wasm/1` module of stubs. */
export function wasmModule(parts: WasmParts = {}): Uint8Array {
  const imports = parts.imports ?? [];
  const memory = parts.memory === undefined ? { min: 1, max: 16 } : parts.memory;
  const functions = Object.entries(parts.functions ?? kernelStubs());
  const exportMemoryAs = parts.exportMemoryAs === undefined ? "memory" : parts.exportMemoryAs;
  const types = [...functions.map(([, f]) => funcType(f.params, f.results)), funcType([], []), ...(parts.extraTypes ?? [])];
  const importType = functions.length;
  const limits = (m: { min: number; max?: number; flags?: number }) => [
    m.flags ?? (m.max === undefined ? 0 : 1),
    ...uleb(m.min),
    ...(m.max === undefined ? [] : uleb(m.max)),
  ];
  const exports = [
    ...(memory && exportMemoryAs !== false ? [[...name(exportMemoryAs), 0x02, 0x00]] : []),
    ...functions.map(([n], i) => [...name(n), 0x00, ...uleb(imports.length + i)]),
  ];
  const body = (f: WasmFunction) => {
    const code = [...vec((f.locals ?? []).map((t) => [1, t])), ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  };
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, imports.length ? vec(imports.map((i) => [...name(i.module), ...name(i.name), 0x00, ...uleb(importType)])) : []),
    ...section(3, functions.length ? vec(functions.map((_, i) => uleb(i))) : []),
    ...section(4, parts.tables?.length ? vec(parts.tables.map((t) => [0x70, ...limits(t)])) : []),
    ...section(5, memory ? vec(Array.from({ length: 1 + (parts.extraMemories ?? 0) }, () => limits(memory))) : []),
    ...section(6, parts.globals?.length ? vec(parts.globals.map((v) => [I32, 0x01, 0x41, ...sleb(v), 0x0b])) : []),
    ...section(7, exports.length ? vec(exports) : []),
    ...section(10, functions.length ? vec(functions.map(([, f]) => body(f))) : []),
    ...section(11, parts.data?.length ? vec(parts.data.map((d) => [0x00, 0x41, ...sleb(d.offset), 0x0b, ...uleb(d.bytes.length), ...d.bytes])) : []),
  ];
  return new Uint8Array(bytes);
}

/**
 * A bump allocator: hands out 8-byte-aligned blocks from global 0 (starting at 1024), growing
 * memory a page at a time when a block would end past it; traps when memory cannot grow.
 */
const bumpAlloc: WasmFunction = {
  params: [I32],
  results: [I32],
  locals: [I32, I32],
  // biome-ignore format: one wasm instruction (or a few) per line, each with what it does
  body: [
    0x23, 0x00, 0x22, 0x01, 0x20, 0x00, 0x6a, 0x41, 0x07, 0x6a, 0x41, 0x78, 0x71, 0x22, 0x02, 0x24, 0x00, // end = (p + size + 7) & -8; global = end
    0x02, 0x40, 0x03, 0x40, // block loop
    0x20, 0x02, 0x3f, 0x00, 0x41, 0x10, 0x74, 0x4d, 0x0d, 0x01, // br_if out when end <= memory.size << 16
    0x41, 0x01, 0x40, 0x00, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00, 0x0b, // memory.grow 1, unreachable on -1
    0x0c, 0x00, 0x0b, 0x0b, // br loop; end loop; end block
    0x20, 0x01, // return p
  ],
};

const OK_JSON = new TextEncoder().encode('{"ok":1}');
const OK_AT = 16;

/** A `wasm/1` kernel whose `compute` returns the output `{"ok":1}` (from a data segment) whatever its input. */
export const okWasmKernel: Uint8Array = wasmModule({
  memory: { min: 1, max: 256 },
  globals: [1024],
  data: [{ offset: OK_AT, bytes: OK_JSON }],
  functions: {
    alloc: bumpAlloc,
    compute: { params: [I32, I32, I32, I32], results: [I64], body: [0x42, ...sleb((BigInt(OK_AT) << 32n) | BigInt(OK_JSON.length))] },
  },
});

/** A `wasm/1` kernel whose `compute` returns its input unchanged: the output is the shard's input. */
export const echoWasmKernel: Uint8Array = wasmModule({
  memory: { min: 1, max: 256 },
  globals: [1024],
  functions: {
    alloc: bumpAlloc,
    // (inPtr << 32) | inLen
    compute: { params: [I32, I32, I32, I32], results: [I64], body: [0x20, 0x00, 0xad, 0x42, 0x20, 0x86, 0x20, 0x01, 0xad, 0x84] },
  },
});

/** Base64 of module bytes, as `POST /v1/kernels` takes them in `wasm`. */
export function wasmBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

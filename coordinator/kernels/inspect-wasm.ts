import { boundsProblem } from "../../shared/kernels/wasm-bounds.ts";
import { LIMITS } from "../../shared/limits.ts";

/** What publishing learns of a `wasm/1` module without compiling it, or why it is refused. */
export type WasmInspection = { ok: true; memory: { min: number; max: number } } | { ok: false; problem: string };

/** A module the reader cannot parse: truncated, or bytes that break the binary format. */
class Malformed extends Error {}

/** A module that parses but breaks the wasm/1 contract. */
class Refused extends Error {}

/** A bounds-checked cursor: every read stays inside `[pos, end)` or throws `Malformed`. */
class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos: number, end: number) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Malformed(`truncated at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** (7 * i);
      if (!(b & 0x80)) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw new Malformed(`malformed LEB128 at byte ${start}`);
  }

  /** Skips a signed LEB128 of at most 33 bits (a heap type). */
  s33(): void {
    const start = this.pos;
    for (let i = 0; i < 5; i++) if (!(this.byte() & 0x80)) return;
    throw new Malformed(`malformed LEB128 at byte ${start}`);
  }

  /** A vector's length, refused when it cannot fit in the bytes left (every item takes at least one). */
  count(): number {
    const n = this.u32();
    if (n > this.end - this.pos) throw new Malformed(`a count of ${n} at byte ${this.pos} overruns its section`);
    return n;
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const length = this.count();
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  vec<T>(item: (r: Reader) => T): T[] {
    return Array.from({ length: this.count() }, () => item(this));
  }
}

const clip = (text: string) => (text.length > 80 ? `${text.slice(0, 80)}…` : text);

const NUMERIC: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" };

function valType(r: Reader): string {
  const b = r.byte();
  if (NUMERIC[b]) return NUMERIC[b];
  if (b >= 0x69 && b <= 0x74) return "ref"; // abstract heap type shorthands (funcref, externref, anyref, ...)
  if (b === 0x63 || b === 0x64) return (r.s33(), "ref");
  throw new Malformed(`unknown value type 0x${b.toString(16)} at byte ${r.pos - 1}`);
}

interface FuncType {
  params: string[];
  results: string[];
}

/** One composite type (GC proposal forms included); null for struct and array types. */
function subType(r: Reader, form: number): FuncType | null {
  if (form === 0x50 || form === 0x4f) {
    r.vec((x) => x.u32());
    form = r.byte();
  }
  if (form === 0x60) return { params: r.vec(valType), results: r.vec(valType) };
  const field = (x: Reader) => {
    const b = x.bytes[x.pos];
    if (b === 0x78 || b === 0x77)
      x.byte(); // packed i8 / i16
    else valType(x);
    x.byte(); // mutability
  };
  if (form === 0x5f) return (r.vec(field), null);
  if (form === 0x5e) return (field(r), null);
  throw new Malformed(`unknown type form 0x${form.toString(16)} at byte ${r.pos - 1}`);
}

function typeSection(r: Reader): (FuncType | null)[] {
  const types = r
    .vec((x) => {
      const form = x.byte();
      return form === 0x4e ? x.vec((y) => subType(y, y.byte())) : [subType(x, form)];
    })
    .flat();
  // Struct and array types are the GC proposal's: objects allocated outside the module's memory,
  // which no declared maximum bounds.
  if (types.includes(null)) throw new Refused("declares WebAssembly GC struct or array types; a wasm/1 kernel keeps its data in its one bounded memory");
  return types;
}

interface Memory {
  min: number;
  max?: number;
}

function memType(r: Reader): Memory {
  const flags = r.byte();
  if (flags & 0x04) throw new Refused("memory is memory64; a wasm/1 kernel uses a 32-bit memory");
  if (flags & 0x02) throw new Refused("memory is shared; a wasm/1 kernel uses an unshared memory");
  if (flags & ~0x01) throw new Refused(`memory limits flags 0x${flags.toString(16)} are not supported`);
  const min = r.u32();
  return flags & 0x01 ? { min, max: r.u32() } : { min };
}

interface Parsed {
  types: (FuncType | null)[];
  funcs: number[];
  bodies: number;
  memories: Memory[];
  exports: Exports;
}

type Exports = Map<string, { kind: number; index: number }>;

const exportEntry = (exports: Exports) => (r: Reader) => {
  const name = r.name();
  if (exports.has(name)) throw new Malformed(`export ${clip(name)} appears twice`);
  exports.set(name, { kind: r.byte(), index: r.u32() });
};

function parse(bytes: Uint8Array): Parsed {
  const top = new Reader(bytes, 0, bytes.length);
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) throw new Refused("not a wasm module: it does not start with \\0asm and a version");
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  if (version !== 1) throw new Refused(`wasm binary version ${version >>> 0} is not supported; wasm/1 kernels are version 1 modules`);
  top.pos = 8;
  const parsed: Parsed = { types: [], funcs: [], bodies: 0, memories: [], exports: new Map() };
  const seen = new Set<number>();
  while (top.pos < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    if (size > bytes.length - top.pos) throw new Malformed(`section ${id} declares ${size} bytes, ${bytes.length - top.pos} remain`);
    const r = new Reader(bytes, top.pos, top.pos + size);
    top.pos += size;
    if (id !== 0 && seen.has(id)) throw new Malformed(`section ${id} appears twice`);
    seen.add(id);
    if (id === 1) parsed.types = typeSection(r);
    else if (id === 2 && r.count() > 0) throw new Refused(`imports ${clip(`${r.name()}.${r.name()}`)}: a wasm/1 kernel may import nothing`);
    else if (id === 3) parsed.funcs = r.vec((x) => x.u32());
    else if (id === 5) parsed.memories = r.vec(memType);
    else if (id === 7) r.vec(exportEntry(parsed.exports));
    else if (id === 10) parsed.bodies = r.count();
    else if (id > 13) throw new Malformed(`unknown section id ${id}`);
    // Sections read to the end must be used up exactly; the others are skipped whole.
    if ([1, 2, 3, 5, 7].includes(id) && r.pos !== r.end) throw new Malformed(`section ${id} has ${r.end - r.pos} bytes left over`);
  }
  if (parsed.funcs.length !== parsed.bodies) throw new Malformed(`${parsed.funcs.length} functions but ${parsed.bodies} function bodies`);
  return parsed;
}

const show = (t: FuncType) => `(${t.params.join(", ")}) -> (${t.results.join(", ")})`;

function checkFunc(p: Parsed, name: string, want: FuncType, usage: string): void {
  const e = p.exports.get(name);
  if (e?.kind !== 0) throw new Refused(`missing export ${name}: a wasm/1 kernel exports the function ${usage}`);
  const typeIndex = p.funcs[e.index];
  if (typeIndex === undefined) throw new Malformed(`export ${name} names function ${e.index}, which the module does not define`);
  if (typeIndex >= p.types.length) throw new Malformed(`function ${e.index} names type ${typeIndex}, which the module does not define`);
  const got = p.types[typeIndex];
  if (!got || show(got) !== show(want)) throw new Refused(`export ${name} has type ${got ? show(got) : "(not a function)"}; a wasm/1 kernel exports ${usage}`);
}

function checkMemory(p: Parsed): { min: number; max: number } {
  const e = p.exports.get("memory");
  if (e?.kind !== 2) throw new Refused('missing export memory: a wasm/1 kernel defines its memory and exports it as "memory"');
  // Each memory's maximum bounds that memory only: more of them would multiply the bound.
  if (p.memories.length > 1) throw new Refused(`defines ${p.memories.length} memories; a wasm/1 kernel defines exactly one, its exported memory`);
  const cap = `at most ${LIMITS.wasmMaxPages} pages (${(LIMITS.wasmMaxPages * 65536) / 2 ** 30} GiB)`;
  for (const m of p.memories) {
    if (m.max === undefined) throw new Refused(`memory declares no maximum; a wasm/1 kernel declares one, ${cap}`);
    if (m.max > LIMITS.wasmMaxPages) throw new Refused(`memory maximum is ${m.max} pages; ${cap}`);
    if (m.min > m.max) throw new Malformed(`memory minimum ${m.min} exceeds its maximum ${m.max}`);
  }
  const memory = p.memories[e.index];
  if (!memory) throw new Malformed(`export memory names memory ${e.index}, which the module does not define`);
  return { min: memory.min, max: memory.max! };
}

/**
 * Checks a `wasm/1` module by reading its sections, never compiling it (Workers may not compile
 * WebAssembly from bytes): no imports, an exported bounded memory, `alloc` and `compute` of the
 * contract's types. Never throws; hostile bytes are refused with a message.
 */
export function inspectWasm(bytes: Uint8Array): WasmInspection {
  if (bytes.byteLength > LIMITS.kernelModuleBytes) {
    return { ok: false, problem: `module is ${bytes.byteLength} bytes; at most ${LIMITS.kernelModuleBytes}` };
  }
  try {
    const parsed = parse(bytes);
    const memory = checkMemory(parsed);
    checkFunc(parsed, "alloc", { params: ["i32"], results: ["i32"] }, "alloc(size: i32) -> i32");
    checkFunc(
      parsed,
      "compute",
      { params: ["i32", "i32", "i32", "i32"], results: ["i64"] },
      "compute(inPtr: i32, inLen: i32, paramsPtr: i32, paramsLen: i32) -> i64",
    );
    // The volunteers' own check, word for word: a module published here runs on every volunteer.
    const unbounded = boundsProblem(bytes);
    if (unbounded) throw new Refused(unbounded);
    return { ok: true, memory };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, problem: err.message };
    return { ok: false, problem: `malformed wasm module: ${err instanceof Error ? err.message : String(err)}` };
  }
}

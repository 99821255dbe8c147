import { LIMITS } from "../limits.ts";

/** Reads an unsigned LEB128 at `at`; returns the value and the offset after it. */
function leb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = bytes[at++];
    if (byte === undefined) throw new Error("truncated module");
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [value, at];
  }
  throw new Error("malformed LEB128 number");
}

/** Value types of plain function signatures: numbers, v128, funcref and externref. */
const PLAIN_VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** Whether the type section at `at` holds anything but plain function types (GC structs, arrays, subtypes, typed references). */
function usesGcTypes(bytes: Uint8Array, at: number): boolean {
  const [count, first] = leb(bytes, at);
  let p = first;
  for (let i = 0; i < count; i++) {
    if (bytes[p++] !== 0x60) return true;
    for (let list = 0; list < 2; list++) {
      const [n, next] = leb(bytes, p);
      p = next;
      for (let k = 0; k < n; k++) if (!PLAIN_VALUE_TYPES.has(bytes[p++]!)) return true;
    }
  }
  return false;
}

/** Most entries a wasm/1 module's one table may declare (function pointers: 8 bytes each). */
export const WASM_MAX_TABLE_ENTRIES = 65_536;

/** Why the table section at `at` lets the module hold more than its bound: more than one table, or one that may grow past WASM_MAX_TABLE_ENTRIES. */
function tableProblem(bytes: Uint8Array, at: number): string | undefined {
  const [count, first] = leb(bytes, at);
  if (count > 1) return `defines ${count} tables; a wasm/1 kernel defines at most one`;
  if (count === 0) return undefined;
  let p = first;
  const type = bytes[p++];
  if (type !== 0x70 && type !== 0x6f) return `table 0 holds type 0x${type?.toString(16)}; a wasm/1 table holds funcref or externref`;
  const flags = bytes[p++];
  if (flags !== 0x01) return flags === 0x00 ? "table 0 declares no maximum" : `table 0 limits flags ${flags} are not supported`;
  const [, afterMin] = leb(bytes, p);
  const [max] = leb(bytes, afterMin);
  return max > WASM_MAX_TABLE_ENTRIES ? `table 0 may grow to ${max} entries; at most ${WASM_MAX_TABLE_ENTRIES}` : undefined;
}

/**
 * Why a wasm/1 module may not run here, or undefined when everything it can hold is bounded: one
 * memory with a maximum of at most 1 GiB (`LIMITS.wasmMaxPages`), at most one table with a
 * maximum of WASM_MAX_TABLE_ENTRIES, and only plain function types (no GC structs or arrays).
 * The engine then refuses any growth past those, and the module has nowhere else to keep data.
 * Read from the binary, since the JS API does not expose declared maximums. The coordinator
 * refuses such modules at publish time, and volunteers check again, whatever it let in.
 * @example boundsProblem(bytes) // "memory 0 declares no maximum"
 */
export function boundsProblem(bytes: Uint8Array): string | undefined {
  try {
    let at = 8; // magic and version
    while (at < bytes.length) {
      const id = bytes[at]!;
      const [size, start] = leb(bytes, at + 1);
      at = start + size;
      if (id === 1 && usesGcTypes(bytes, start)) return "declares WebAssembly GC types, whose objects no memory maximum bounds";
      if (id === 4) {
        const problem = tableProblem(bytes, start);
        if (problem) return problem;
      }
      if (id !== 5) continue;
      const [count, first] = leb(bytes, start);
      if (count > 1) return `defines ${count} memories; a wasm/1 kernel defines exactly one`;
      let p = first;
      for (let i = 0; i < count; i++) {
        const flags = bytes[p];
        // 0x00: minimum only; 0x01: minimum and maximum. Shared (0x02, 0x03), 64-bit (0x04+): refused.
        if (flags === 0x00) return `memory ${i} declares no maximum`;
        if (flags !== 0x01) return `memory ${i} is shared or 64-bit (limits flags ${flags})`;
        const [, afterMin] = leb(bytes, p + 1);
        const [max, next] = leb(bytes, afterMin);
        if (max > LIMITS.wasmMaxPages) return `memory ${i} may grow to ${max} pages; at most ${LIMITS.wasmMaxPages} (1 GiB)`;
        p = next;
      }
    }
    return undefined;
  } catch (err) {
    return `unreadable module: ${(err as Error).message}`;
  }
}

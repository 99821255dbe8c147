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

/**
 * Why a wasm/1 module's memories may not run here, or undefined when every memory it defines
 * declares a maximum of at most 1 GiB (`LIMITS.wasmMaxPages`): the engine then refuses any
 * `memory.grow` past it. Read from the binary's memory section, since the JS API does not
 * expose a memory's declared maximum. Checked again on volunteers, whatever the coordinator let in.
 * @example memoryProblem(bytes) // "memory 0 declares no maximum"
 */
export function memoryProblem(bytes: Uint8Array): string | undefined {
  try {
    let at = 8; // magic and version
    while (at < bytes.length) {
      const id = bytes[at]!;
      const [size, start] = leb(bytes, at + 1);
      at = start + size;
      if (id !== 5) continue;
      const [count, first] = leb(bytes, start);
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

import type { KernelModule } from "./task.ts";
import { boundsProblem } from "./wasm-bounds.ts";

/** The exports the wasm/1 ABI requires (README, "Kernels you bring"). */
interface Wasm1Exports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  compute(inPtr: number, inLen: number, paramsPtr: number, paramsLen: number): bigint;
}

// Compiled modules by SHA-256: a worker compiles each kernel once, however many shards it runs.
const compiled = new Map<string, Promise<WebAssembly.Module>>();
const MAX_COMPILED = 8;

// Workers' types leave out WebAssembly.compile (a Worker cannot compile wasm from bytes); kernels
// run in page and Node threads, which can. Named here so the Node-side type program, which carries
// Workers' types for the coordinator's AppType, accepts it.
const compileBytes = (bytes: Uint8Array<ArrayBuffer>) =>
  (WebAssembly as unknown as { compile(bytes: BufferSource): Promise<WebAssembly.Module> }).compile(bytes);

function compile(module: KernelModule): Promise<WebAssembly.Module> {
  let found = compiled.get(module.sha256);
  if (!found) {
    const problem = boundsProblem(module.bytes);
    found = problem ? Promise.reject(new Error(`wasm/1: ${problem}`)) : compileBytes(module.bytes as Uint8Array<ArrayBuffer>);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(module.sha256, found);
  }
  return found;
}

function abi(instance: WebAssembly.Instance): Wasm1Exports {
  const { memory, alloc, compute } = instance.exports as Partial<Wasm1Exports>;
  if (!(memory instanceof WebAssembly.Memory) || typeof alloc !== "function" || typeof compute !== "function") {
    throw new Error("wasm/1: the module must export memory, alloc and compute");
  }
  return { memory, alloc, compute };
}

/** Copies `bytes` into fresh kernel memory; answers the pointer. */
function place(exports: Wasm1Exports, bytes: Uint8Array): number {
  const ptr = exports.alloc(bytes.length) >>> 0;
  // Read the buffer after alloc: growing memory detaches the old one.
  const memory = new Uint8Array(exports.memory.buffer);
  if (ptr + bytes.length > memory.length) throw new Error(`wasm/1: alloc(${bytes.length}) answered ${ptr}, outside memory`);
  memory.set(bytes, ptr);
  return ptr;
}

const utf8 = new TextEncoder();

/**
 * Runs one shard of a wasm/1 kernel: a fresh instance with no imports (kernels keep no state
 * between shards), the input (UTF-8 JSON, or the raw bytes of a dataset shard) and the params
 * JSON written through `alloc`, and the i64 from `compute` read as (ptr << 32) | len of the
 * output's UTF-8 JSON. Memory stays under the maximum the module declares (at most 1 GiB).
 * @example await runWasmKernel({ language: "wasm", sha256, bytes }, { n: 1 }, {})
 */
export async function runWasmKernel(module: KernelModule, input: unknown, params: unknown): Promise<unknown> {
  const instance = await WebAssembly.instantiate(await compile(module), {});
  const exports = abi(instance);
  const inBytes = input instanceof Uint8Array ? input : utf8.encode(JSON.stringify(input));
  const paramsBytes = utf8.encode(JSON.stringify(params ?? {}));
  const inPtr = place(exports, inBytes);
  const paramsPtr = place(exports, paramsBytes);
  const result = BigInt.asUintN(64, BigInt(exports.compute(inPtr, inBytes.length, paramsPtr, paramsBytes.length)));
  const ptr = Number(result >> 32n);
  const len = Number(result & 0xffff_ffffn);
  const memory = new Uint8Array(exports.memory.buffer);
  if (ptr + len > memory.length) throw new Error(`wasm/1: compute answered ${len} bytes at ${ptr}, outside memory`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(memory.subarray(ptr, ptr + len));
  } catch {
    throw new Error("wasm/1: the output is not UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`wasm/1: the output is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

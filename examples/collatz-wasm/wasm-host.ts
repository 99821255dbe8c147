// Runs a wasm/1 kernel in Node exactly as the contract describes the host's side (API.md,
// "Kernels you bring"): alloc and write the input and params as UTF-8 JSON, call compute,
// read (outPtr << 32) | outLen of UTF-8 JSON back.

interface Wasm1Exports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  compute(inPtr: number, inLen: number, paramsPtr: number, paramsLen: number): bigint;
}

/** A wasm/1 module as a function `(input, params) => output`, on one instance reused call after call. */
export async function loadWasmKernel(bytes: Uint8Array): Promise<(input: unknown, params?: unknown) => unknown> {
  const module = await WebAssembly.compile(new Uint8Array(bytes));
  if (WebAssembly.Module.imports(module).length > 0) throw new Error("a wasm/1 kernel imports nothing");
  const { exports } = await WebAssembly.instantiate(module, {});
  const kernel = exports as unknown as Wasm1Exports;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  const write = (value: unknown): [number, number] => {
    const data = encoder.encode(JSON.stringify(value));
    const ptr = kernel.alloc(data.length);
    new Uint8Array(kernel.memory.buffer, ptr, data.length).set(data);
    return [ptr, data.length];
  };

  return (input, params = {}) => {
    const [inPtr, inLen] = write(input);
    const [paramsPtr, paramsLen] = write(params);
    const packed = BigInt.asUintN(64, kernel.compute(inPtr, inLen, paramsPtr, paramsLen));
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    return JSON.parse(decoder.decode(new Uint8Array(kernel.memory.buffer, outPtr, outLen)));
  };
}

import { newQuickJSWASMModule, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from "quickjs-emscripten";
import { timeLimitError, type KernelTask } from "../../shared/kernels/task.ts";

/** Heap of one js/1 shard inside QuickJS. */
export const JS_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;
const JS_STACK_BYTES = 1024 * 1024;
/** Time cap when the task names none (the pool's own timer stops the thread anyway). */
const DEFAULT_TIME_LIMIT_MS = 120_000;

// One interpreter per worker thread, loaded at the first js/1 shard. A QuickJS abort (it asserts
// on leaked handles) kills its WASM instance: the next shard then loads a fresh one.
let engine: Promise<QuickJSWASMModule> | undefined;

/** A value thrown inside QuickJS, as a host Error that reads `Name: message`. */
function fromVm(vm: QuickJSContext, handle: QuickJSHandle): Error {
  let thrown: unknown;
  try {
    thrown = vm.dump(handle);
  } catch {
    thrown = "the kernel threw a value that cannot be shown";
  } finally {
    handle.dispose();
  }
  const { name, message } = (thrown ?? {}) as { name?: unknown; message?: unknown };
  if (typeof message !== "string") return new Error(typeof thrown === "string" ? thrown : (JSON.stringify(thrown) ?? String(thrown)));
  const error = new Error(message);
  error.name = typeof name === "string" ? name : "Error";
  return error;
}

/**
 * Runs one js/1 shard inside QuickJS (a JS interpreter compiled to WebAssembly), never with
 * Node's privileges: a fresh runtime per shard with no host functions at all (no `require`, no
 * `process`, no module loader, so `import()` fails), its heap capped at JS_MEMORY_LIMIT_BYTES
 * and an interrupt handler stopping it at the task's time limit. Input and params go in as JSON
 * (a dataset shard's bytes as a Uint8Array); the output comes back through the VM's JSON.stringify.
 * @example await runJsInQuickJs("export const compute = (i) => i.n + 1", { kernel: "k_1", params: {}, input: { n: 1 } }) // 2
 */
export async function runJsInQuickJs(source: string, task: KernelTask): Promise<unknown> {
  const qjs = await (engine ??= newQuickJSWASMModule());
  const runtime = qjs.newRuntime();
  runtime.setMemoryLimit(JS_MEMORY_LIMIT_BYTES);
  runtime.setMaxStackSize(JS_STACK_BYTES);
  const limitMs = task.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const deadline = Date.now() + limitMs;
  runtime.setInterruptHandler(() => Date.now() > deadline);
  const vm = runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const keep = (handle: QuickJSHandle) => (handles.push(handle), handle);
  const take = (result: ReturnType<QuickJSContext["evalCode"]>) => {
    if (result.error) throw fromVm(vm, result.error);
    return keep(result.value);
  };
  const call = (fn: QuickJSHandle, ...args: QuickJSHandle[]) => take(vm.callFunction(fn, vm.undefined, ...args));
  try {
    // Taken before the kernel's code runs: it may replace JSON or Uint8Array for its own purposes.
    const parse = keep(vm.getProp(keep(vm.getProp(vm.global, "JSON")), "parse"));
    const stringify = keep(vm.getProp(keep(vm.getProp(vm.global, "JSON")), "stringify"));
    const toBytes = take(vm.evalCode("(buffer) => new Uint8Array(buffer)", "colmeia-host.js", { type: "global" }));
    const exports = settle(vm, runtime, take(vm.evalCode(source, "kernel.js", { type: "module" })), keep);
    const compute = keep(vm.getProp(exports, "compute"));
    if (vm.typeof(compute) !== "function") throw new Error("js/1: the module exports no compute function");
    const input =
      task.input instanceof Uint8Array
        ? call(toBytes, keep(vm.newArrayBuffer(task.input.slice().buffer)))
        : call(parse, keep(vm.newString(JSON.stringify(task.input))));
    const params = call(parse, keep(vm.newString(JSON.stringify(task.params ?? {}))));
    const output = settle(vm, runtime, call(compute, input, params), keep);
    const text = call(stringify, output);
    if (vm.typeof(text) !== "string") throw new Error("js/1: the output is not JSON (compute returned undefined or a function)");
    return JSON.parse(vm.getString(text));
  } catch (err) {
    throw Date.now() > deadline ? timeLimitError(limitMs) : err;
  } finally {
    for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
    try {
      vm.dispose();
      runtime.dispose();
    } catch {
      engine = undefined;
    }
  }
}

/** The value of `handle`, awaiting it when it is a Promise by running the VM's pending jobs. */
function settle(vm: QuickJSContext, runtime: QuickJSRuntime, handle: QuickJSHandle, keep: (h: QuickJSHandle) => QuickJSHandle): QuickJSHandle {
  for (;;) {
    const state = vm.getPromiseState(handle);
    if (state.type === "fulfilled") return state.notAPromise ? handle : keep(state.value);
    if (state.type === "rejected") throw fromVm(vm, state.error);
    const ran = runtime.executePendingJobs();
    if (ran.error) throw fromVm(vm, ran.error);
    if (ran.value === 0) throw new Error("js/1: compute's Promise never settles (it waits on nothing a kernel can have)");
  }
}

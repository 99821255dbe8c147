import { LIMITS } from "../limits.ts";
import { compute as builtIns } from "./compute.ts";
import { describeThrown, type ComputeReply, type KernelTask } from "./task.ts";
import { runWasmKernel } from "./wasm-kernel.ts";

/**
 * Runs a js/1 kernel's source on one shard and answers its output as plain JSON. Each volunteer
 * brings its own sandbox: the page imports the source in its locked-down Web Worker, Node runs
 * it inside QuickJS.
 */
export type JsKernelRunner = (source: string, task: KernelTask) => Promise<unknown>;

/** The same value as plain JSON, or an error when it is not JSON or too large for the coordinator. */
function asJson(output: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(output);
  } catch (err) {
    throw new Error(`the output is not JSON: ${describeThrown(err)}`);
  }
  if (text === undefined) throw new Error("the output is not JSON (compute returned undefined or a function)");
  if (text.length > LIMITS.outputBytes) throw new Error(`the output is ${text.length} characters of JSON; at most ${LIMITS.outputBytes}`);
  return JSON.parse(text);
}

const utf8 = new TextDecoder();

/** Not the kernel's fault: this volunteer cannot run it (an older build meeting a newer kernel). */
class CannotRun extends Error {}

/**
 * The one kernel runtime of every volunteer, in the page's Web Workers and in Node's worker
 * threads: bundled built-in kernels, and published `wasm/1` and `js/1` kernels whose code the
 * host fetched and checked. Errors come back as values (Error classes do not cross workers).
 * @example
 * const runtime = createKernelRuntime(runJsInQuickJs);
 * await runtime.compute({ kernel: "primes.count", params: {}, input: { start: 0, end: 100 } });
 */
export function createKernelRuntime(runJs: JsKernelRunner) {
  async function run(task: KernelTask): Promise<unknown> {
    const { module } = task;
    if (!module) {
      // Own properties only: `compute["constructor"]` must not find Object.
      if (!Object.hasOwn(builtIns, task.kernel)) throw new CannotRun(`this volunteer does not know kernel "${task.kernel}"`);
      return builtIns[task.kernel]!(task.input, task.params);
    }
    if (module.language === "wasm") return asJson(await runWasmKernel(module, task.input, task.params));
    return asJson(await runJs(utf8.decode(module.bytes), task));
  }
  return {
    async compute(task: KernelTask): Promise<ComputeReply> {
      try {
        return { ok: true, output: await run(task) };
      } catch (err) {
        return { ok: false, error: describeThrown(err), ...(err instanceof CannotRun && { cannotRun: true }) };
      }
    },
  };
}

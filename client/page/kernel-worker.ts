/// <reference lib="webworker" />
import { expose, type Endpoint } from "comlink";
import { createKernelRuntime } from "../../shared/kernels/runtime.ts";
import { lockDown } from "../../shared/lockdown.ts";
import { runJsInWorker } from "./blob-js-kernel.ts";

/**
 * The Web Worker that runs kernels, built-in and published, through the shared kernel runtime.
 * It speaks to the page only over a private MessagePort the page sends as its first message;
 * `postMessage` on the worker itself is removed, and the page ignores messages on the Worker
 * object, so a kernel cannot forge messages to the page. Served with its own CSP
 * (public/_headers): no network at all, scripts only from `blob:` URLs this worker makes.
 */
const kernelWorker = createKernelRuntime(runJsInWorker);

/** The worker's API as seen through `Comlink.wrap`. */
export type KernelWorkerApi = typeof kernelWorker;

/**
 * The port's methods, bound before any kernel runs: a kernel that patches MessagePort.prototype
 * does not reach this channel. (A kernel could still tamper with its own replies, through this
 * realm's JSON or Object.assign, say: the page reads every reply on its own side, so a forged one
 * counts as a crash and an unsendable output as the kernel's error (see client/volunteer/pool.ts),
 * and a worker that ran a published JS kernel runs no other.)
 */
function endpoint(port: MessagePort): Endpoint {
  const { postMessage, addEventListener, removeEventListener, start } = MessagePort.prototype;
  const ep: Endpoint & { start(): void } = {
    postMessage: postMessage.bind(port) as Endpoint["postMessage"],
    addEventListener: addEventListener.bind(port) as Endpoint["addEventListener"],
    removeEventListener: removeEventListener.bind(port) as Endpoint["removeEventListener"],
    start: start.bind(port),
  };
  return ep;
}

let connected = false;
self.addEventListener("message", (event: MessageEvent) => {
  const port = event.ports[0];
  if (connected || !port) return;
  connected = true;
  expose(kernelWorker, endpoint(port));
});

// Kernels compute and nothing else: no network, no storage, no messages but the host's port.
lockDown();

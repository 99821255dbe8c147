/**
 * Globals through which code could reach the network, storage, the page or other contexts.
 * `postMessage`/`onmessage` go too: a kernel worker talks to its host only over the private
 * MessagePort it was handed at start-up, so a kernel cannot post to the page's Worker object.
 */
const GLOBALS = [
  "fetch",
  "XMLHttpRequest",
  "WebSocket",
  "WebSocketStream",
  "EventSource",
  "WebTransport",
  "importScripts",
  "indexedDB",
  "caches",
  // Chromium's old sandboxed file system: the origin's storage quota, readable by later kernels.
  "webkitRequestFileSystem",
  "webkitRequestFileSystemSync",
  "webkitResolveLocalFileSystemURL",
  "webkitResolveLocalFileSystemSyncURL",
  "BroadcastChannel",
  "Worker",
  "SharedWorker",
  "RTCPeerConnection",
  "Request",
  "Response",
  "Notification",
  "FontFace",
  "fonts",
  "postMessage",
  "onmessage",
] as const;

/** The same on `navigator`: storage (OPFS, storage buckets), cross-tab locks, WebGPU, beacons, devices. */
const NAVIGATOR = ["storage", "storageBuckets", "locks", "gpu", "sendBeacon", "serviceWorker", "usb", "hid", "serial", "bluetooth"] as const;

/**
 * Makes `name` undefined on `target` and on every prototype of it that defines it, so no getter
 * survives to be called on the object (`Object.getOwnPropertyDescriptor(proto, name).get`).
 * Answers whether anything was removed.
 */
function remove(target: object, name: string): boolean {
  const holders = new Set<object>();
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) if (Object.hasOwn(o, name)) holders.add(o);
  if (!holders.size) return false;
  for (const o of [target, ...holders]) {
    try {
      Object.defineProperty(o, name, { value: undefined, writable: false, configurable: false });
    } catch {
      // A non-configurable property that cannot be removed: leave it (none of the listed ones are).
    }
  }
  return true;
}

/**
 * Removes network, storage and messaging capabilities from a kernel worker's global scope before
 * any kernel runs, so a kernel can compute and nothing else: it cannot reach the network, the
 * page's storage, the page or other workers. The worker keeps only the port its host gave it.
 * Answers what was removed (`navigator.x` for navigator members).
 * @example lockDown(); typeof fetch // "undefined"
 */
export function lockDown(scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): string[] {
  const removed: string[] = GLOBALS.filter((name) => remove(scope, name));
  const navigator = scope.navigator;
  if (navigator && typeof navigator === "object") {
    for (const name of NAVIGATOR) if (remove(navigator, name)) removed.push(`navigator.${name}`);
  }
  return removed;
}

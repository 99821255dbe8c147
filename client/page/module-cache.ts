import type { ModuleStore } from "../volunteer/modules.ts";

/** The Cache API cache holding published kernels' modules, keyed by module URL. */
export const KERNEL_CACHE = "colmeia-kernels";

/**
 * Keeps fetched kernel modules in the Cache API, so a volunteer downloads each module once
 * across visits (modules are immutable; the loader re-verifies their SHA-256 when read back).
 * Undefined where the Cache API is missing (an insecure origin): the loader's memory cache then
 * serves alone.
 */
export function cacheApiModuleStore(origin = location.origin): ModuleStore | undefined {
  const cacheStorage = globalThis.caches;
  if (!cacheStorage) return undefined;
  let opened: Promise<Cache> | undefined;
  const cache = () => (opened ??= cacheStorage.open(KERNEL_CACHE));
  const key = (url: string) => new URL(url, origin).href;
  return {
    async get(url) {
      const found = await (await cache()).match(key(url));
      return found ? new Uint8Array(await found.arrayBuffer()) : undefined;
    },
    async put(url, bytes) {
      await (await cache()).put(key(url), new Response(bytes as Uint8Array<ArrayBuffer>));
    },
  };
}

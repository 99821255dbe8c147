import { hexOf } from "../../shared/canonical.ts";
import type { KernelModule } from "../../shared/kernels/task.ts";
import type { VolunteerApi } from "./api.ts";
import type { BackoffOptions } from "./backoff.ts";
import { retrying } from "./retry.ts";
import type { KernelModuleRef } from "./types.ts";

/** A lasting store of module bytes by URL (the page's Cache API); read back bytes are verified again. */
export interface ModuleStore {
  get(url: string): Promise<Uint8Array | undefined>;
  put(url: string, bytes: Uint8Array): Promise<void>;
}

/** Options of {@link createModuleLoader}. */
export interface ModuleLoaderOptions {
  api: Pick<VolunteerApi, "module">;
  /** Where fetched modules outlive this process or page, if anywhere. */
  store?: ModuleStore;
  /** Backoff between download attempts; default as for leases (500 ms doubling to 15 s). */
  backoff?: BackoffOptions;
  /** Download attempts before giving up on a module for now. Default 6. */
  attempts?: number;
  /** Verified module bytes kept in memory. Default 64 MiB. */
  memoryBytes?: number;
}

/** Hex SHA-256 of some bytes (Web Crypto: the same in browsers and Node). */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return hexOf(digest);
}

/**
 * Resolves leases' published kernel modules to verified bytes for the kernel workers: each
 * module is downloaded once (concurrent shards of one kernel share the download), checked
 * against the lease's SHA-256 and kept in memory (and in `store`), so a 4 MiB module costs one
 * download, not one per shard. Unreachable coordinators are retried with backoff; a refusal
 * (404, 403) or a SHA-256 mismatch fails at once. Failures are not kept: the next lease tries again.
 * @example const modules = createModuleLoader({ api }); const module = await modules.load(lease.module);
 */
export function createModuleLoader(opts: ModuleLoaderOptions) {
  const { api, store } = opts;
  const budget = opts.memoryBytes ?? 64 * 1024 * 1024;
  const loaded = new Map<string, Promise<KernelModule>>();
  const sizes = new Map<string, number>();

  const download = (url: string) => retrying(() => api.module(url), { backoff: opts.backoff, attempts: opts.attempts });

  async function fetchVerified(ref: KernelModuleRef): Promise<KernelModule> {
    const kept = await store?.get(ref.url).catch(() => undefined);
    if (kept && (await sha256Hex(kept)) === ref.sha256) return { language: ref.language, sha256: ref.sha256, bytes: kept };
    const bytes = await download(ref.url);
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== ref.sha256) throw new Error(`kernel module ${ref.url} has SHA-256 ${sha256}, not ${ref.sha256} as leased`);
    await store?.put(ref.url, bytes).catch(() => {});
    return { language: ref.language, sha256, bytes };
  }

  /** Keeps memory under budget, forgetting the modules loaded longest ago. */
  function remember(key: string, bytes: number) {
    sizes.set(key, bytes);
    let total = [...sizes.values()].reduce((a, b) => a + b, 0);
    for (const [old, size] of sizes) {
      if (total <= budget || old === key) break;
      loaded.delete(old);
      sizes.delete(old);
      total -= size;
    }
  }

  return {
    /** The verified module a lease names. */
    load(ref: KernelModuleRef): Promise<KernelModule> {
      const key = `${ref.url}#${ref.sha256}`;
      let found = loaded.get(key);
      if (!found) {
        found = fetchVerified(ref);
        loaded.set(key, found);
        found.then(
          (module) => remember(key, module.bytes.length),
          () => loaded.delete(key),
        );
      }
      return found;
    },
  };
}

/** See {@link createModuleLoader}. */
export type ModuleLoader = ReturnType<typeof createModuleLoader>;

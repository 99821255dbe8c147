import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { num } from "./table.ts";

/** One garbage collection the server's V8 reported (`--trace-gc`), stamped when its line arrived here. */
interface Collection {
  at: number;
  full: boolean;
  ms: number;
}

/**
 * The server's garbage collections, from V8's `--trace-gc` lines. workerd writes them to a pipe,
 * which its C library would buffer for seconds, so the server runs workerd through `stdbuf -oL`:
 * each line arrives as its collection ends, and its arrival time places it in a measured window.
 *
 * @example
 * const gc = GcTrace.setUp(); // undefined where stdbuf is missing (it says why)
 * const server = await startLocalServer({ env: gc?.env, onOutput: (c) => gc?.take(c) });
 * const t0 = performance.now(); ...; console.log(gc?.line(t0, performance.now()));
 * gc?.cleanUp();
 */
export class GcTrace {
  readonly #dir: string;
  readonly #seen: Collection[] = [];
  #partial = "";
  /** Environment for the server: Miniflare runs the line-buffered workerd with V8's GC trace on. */
  readonly env: Record<string, string>;

  private constructor(dir: string, wrapper: string) {
    this.#dir = dir;
    this.env = { MINIFLARE_WORKERD_PATH: wrapper, MINIFLARE_WORKERD_V8_FLAGS: "--trace-gc" };
  }

  /** Prepares the workerd wrapper in a temporary folder; undefined (with a note on stderr) where it cannot. */
  static setUp(): GcTrace | undefined {
    if (spawnSync("stdbuf", ["--version"]).status !== 0) {
      console.error("--gc: stdbuf (GNU coreutils) is not on PATH, so the server's GC lines would arrive late; no GC figures");
      return undefined;
    }
    const workerd = (createRequire(import.meta.url)("workerd") as { default: string }).default;
    const dir = mkdtempSync(join(tmpdir(), "colmeia-gc-"));
    const wrapper = join(dir, "workerd");
    writeFileSync(wrapper, `#!/bin/sh\nexec stdbuf -oL -eL ${JSON.stringify(workerd)} "$@"\n`);
    chmodSync(wrapper, 0o755);
    return new GcTrace(dir, wrapper);
  }

  /** Feeds the server's output (any chunking): lines that are GC reports are kept, the rest ignored. */
  take(chunk: string): void {
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    const at = performance.now();
    for (const line of lines) {
      // e.g. "[12:0x51..]  5679 ms: Mark-Compact 22.4 (26.5) -> 8.0 (26.2) MB, pooled: 0.2 MB, 31.80 / 0.00 ms (average mu = ..."
      const m = /: (Scavenge|Mark-Compact|Minor Mark-Sweep)\b.*?, ([\d.]+) \/ [\d.]+ ms/.exec(line);
      if (m) this.#seen.push({ at, full: m[1] === "Mark-Compact", ms: Number(m[2]) });
    }
  }

  /** What the collections ending between `from` and `to` (performance.now()) cost the server's one thread. */
  line(from: number, to: number): string {
    const inWindow = this.#seen.filter((c) => c.at >= from && c.at <= to);
    const part = (full: boolean, name: string) => {
      const ms = inWindow.filter((c) => c.full === full).map((c) => c.ms);
      if (!ms.length) return `no ${name}`;
      const total = ms.reduce((a, b) => a + b, 0);
      return `${ms.length} ${name}, ${num(Math.min(...ms), 1)}-${num(Math.max(...ms), 1)} ms each (${num(total)} ms, ${num((100 * total) / (to - from), 1)}% of the window)`;
    };
    return `  server GC in the window (V8 --trace-gc): ${part(true, "full collections (mark-compact, the thread stops)")}; ${part(false, "young-generation collections")}`;
  }

  cleanUp(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { killMarkedNow, MARK_ENV, newMark, reapMarked, recordServer } from "./process-tree.ts";

/** A real `npm start` (Miniflare on workerd) with its own port, state folder and tokens. */
export interface LocalServer {
  url: string;
  port: number;
  stateDir: string;
  /** Submitter tokens this server accepts (two, so tests can prove isolation). */
  tokens: [string, string];
  /**
   * Stops it; a state folder made for it (none was given) is deleted too, unless `keepState`
   * (to start a server on it again): a grid's state runs to hundreds of megabytes.
   */
  stop(opts?: { keepState?: boolean }): Promise<void>;
  /** Stops and starts it again on the same port and state folder. */
  restart(): Promise<void>;
}

const root = resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export interface LocalServerOptions {
  stateDir?: string;
  port?: number;
  /** Extra Worker vars (`--var NAME:VALUE`), e.g. `{ REGISTRATIONS_PER_MINUTE: "100000" }`. */
  vars?: Record<string, string>;
  /** Sees every chunk the server writes to stdout/stderr (e.g. to watch for errors). */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  /** Extra environment for `npm start`, e.g. `{ LOG_LEVEL: "info", LOG_FORMAT: "json" }`. */
  env?: Record<string, string>;
  /** `npm run dev` (wrangler dev) instead of `npm start`. */
  dev?: boolean;
  /** The submitter tokens to accept (default: two new ones), e.g. another server's on the same state. */
  tokens?: [string, string];
  /** More flags for the server script, e.g. `["--inspector-port", "9230"]` to profile the Worker. */
  args?: string[];
}

/** Marks of servers started by this process and not yet stopped. */
const running = new Set<string>();
// Last resort when the test process exits without stopping a server (a crash, a hook that timed
// out): kill the whole tree right away. The global teardown still reports it.
process.once("exit", () => running.forEach(killMarkedNow));

/**
 * Starts the local grid exactly as `npm start` does, but isolated; resolves once /healthz answers.
 * `stop()` returns only when every process of the server's tree (start.mjs, its leash, workerd) is
 * gone, and a failed start stops what it started before it throws.
 */
export async function startLocalServer(opts: LocalServerOptions = {}): Promise<LocalServer> {
  const port = opts.port ?? (await freePort());
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "colmeia-state-"));
  const tokens: [string, string] = opts.tokens ?? [`t1_${randomBytes(12).toString("hex")}`, `t2_${randomBytes(12).toString("hex")}`];
  const url = `http://127.0.0.1:${port}`;
  const mark = newMark();
  let child: ChildProcess | undefined;

  const launch = async () => {
    running.add(mark);
    child = spawn(
      process.execPath,
      [
        join(root, "scripts/start.mjs"),
        ...(opts.dev ? ["--dev"] : []),
        "--var",
        `SUBMIT_TOKENS:${tokens.join(",")}`,
        "--var",
        `COLMEIA_SECRET:test-secret-${port}`,
        ...Object.entries(opts.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
        ...(opts.args ?? []),
      ],
      {
        cwd: root,
        // Request lines stay out of test and bench output unless asked for (LOG_LEVEL=info).
        env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...opts.env, PORT: String(port), STATE_DIR: stateDir, [MARK_ENV]: mark },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    if (child.pid) recordServer({ mark, pid: child.pid, port, stateDir });
    let log = "";
    child.stdout?.on("data", (d) => ((log += d), opts.onOutput?.(String(d), "stdout")));
    child.stderr?.on("data", (d) => ((log += d), opts.onOutput?.(String(d), "stderr")));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await stop();
        throw new Error(`local server exited early:\n${log}`);
      }
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 150));
    }
    await stop();
    throw new Error(`local server did not become healthy in 60 s:\n${log}`);
  };
  const stop = async () => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      // start.mjs gone by SIGKILL: its leash stops the server's process group by itself.
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL"), await exited;
    }
    const killed = await reapMarked(mark, 10_000);
    running.delete(mark);
    if (killed.length) {
      throw new Error(
        `local server on port ${port} left processes behind after stopping (killed them):\n${killed.map((p) => `  ${p.pid} ${p.cmdline}`).join("\n")}`,
      );
    }
  };

  await launch();
  let removed = false;
  return {
    url,
    port,
    stateDir,
    tokens,
    stop: async ({ keepState = false } = {}) => {
      await stop();
      if (opts.stateDir || keepState) return;
      rmSync(stateDir, { recursive: true, force: true });
      removed = true;
    },
    restart: async () => {
      // A restart on an empty folder would pass for one that kept its state.
      if (removed) throw new Error(`the state folder ${stateDir} went with stop(); stop({ keepState: true }) to restart on it`);
      await stop();
      await launch();
    },
  };
}

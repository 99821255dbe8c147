import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** A real `npm start` (wrangler dev on workerd) with its own port, state folder and tokens. */
export interface LocalServer {
  url: string;
  port: number;
  stateDir: string;
  /** Submitter tokens this server accepts (two, so tests can prove isolation). */
  tokens: [string, string];
  stop(): Promise<void>;
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
}

/** Starts the local grid exactly as `npm start` does, but isolated; resolves once /healthz answers. */
export async function startLocalServer(opts: LocalServerOptions = {}): Promise<LocalServer> {
  const port = opts.port ?? (await freePort());
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "colmeia-state-"));
  const tokens: [string, string] = [`t1_${randomBytes(12).toString("hex")}`, `t2_${randomBytes(12).toString("hex")}`];
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = spawn(
      process.execPath,
      [
        join(root, "scripts/start.mjs"),
        "--var", `SUBMIT_TOKENS:${tokens.join(",")}`,
        "--var", `COLMEIA_SECRET:test-secret-${port}`,
        ...Object.entries(opts.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ],
      { cwd: root, env: { ...process.env, PORT: String(port), STATE_DIR: stateDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    child.stdout?.on("data", (d) => ((log += d), opts.onOutput?.(String(d), "stdout")));
    child.stderr?.on("data", (d) => ((log += d), opts.onOutput?.(String(d), "stderr")));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`local server exited early:\n${log}`);
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`local server did not become healthy in 60 s:\n${log}`);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (c.exitCode === null) c.kill("SIGKILL");
  };

  await launch();
  return { url, port, stateDir, tokens, stop, restart: async () => (await stop(), await launch()) };
}

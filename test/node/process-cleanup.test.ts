import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { ensureDevVars } from "../../scripts/dev-vars.mjs";
import { checkNoServerLeft } from "../support/leak-check.ts";
import { freePort, startLocalServer } from "../support/local-server.ts";
import { startGridAndBrowser } from "../support/per-file.ts";
import { MARK_ENV, markedProcesses, newMark, reapMarked, recordServer } from "../support/process-tree.ts";

// Servers started by `npm start` and by the tests must leave nothing behind, however they end.

const root = resolve(import.meta.dirname, "../..");

/** Live processes whose command line mentions any of `needles` (e.g. a state folder or a port). */
function processesMentioning(...needles: string[]): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0").join(" ");
      if (needles.some((n) => cmdline.includes(n))) found.push(`${name} ${cmdline.slice(0, 160)}`);
    } catch {}
  }
  return found;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once("error", () => ok(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => ok(true)));
  });
}

async function eventually(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

async function waitHealthy(url: string): Promise<void> {
  const healthy = await eventually(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true, 60_000);
  if (!healthy) throw new Error(`${url} did not answer /healthz`);
}

describe("npm start", () => {
  it("stops its server and workerd and frees its port when it is killed with SIGKILL", async () => {
    const port = await freePort();
    const stateDir = mkdtempSync(join(tmpdir(), "colmeia-sigkill-"));
    const mark = newMark();
    const start = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
      cwd: root,
      env: { ...process.env, PORT: String(port), STATE_DIR: stateDir, [MARK_ENV]: mark },
      stdio: "ignore",
    });
    recordServer({ mark, pid: start.pid!, port, stateDir });
    const needles = [stateDir, `127.0.0.1:${port}`];
    try {
      await waitHealthy(`http://127.0.0.1:${port}`);
      // workerd's command line names neither the port nor the state folder (they are in its
      // config): the mark it inherited finds it.
      expect(markedProcesses(mark).some((p) => p.cmdline.includes("workerd"))).toBe(true);

      start.kill("SIGKILL");
      expect(await eventually(() => processesMentioning(...needles).length === 0, 8_000), processesMentioning(...needles).join("\n")).toBe(true);
      expect(await portIsFree(port)).toBe(true);
      expect(markedProcesses(mark)).toEqual([]);
    } finally {
      start.kill("SIGKILL");
      await reapMarked(mark, 0);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("says in one line which address is taken when its port is in use, and leaves nothing running", async () => {
    const taken = createServer();
    const port = await new Promise<number>((ok) => taken.listen(0, "127.0.0.1", () => ok((taken.address() as { port: number }).port)));
    const stateDir = mkdtempSync(join(tmpdir(), "colmeia-port-taken-"));
    const mark = newMark();
    try {
      const start = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
        cwd: root,
        env: { ...process.env, PORT: String(port), STATE_DIR: stateDir, [MARK_ENV]: mark },
        stdio: ["ignore", "pipe", "pipe"],
      });
      recordServer({ mark, pid: start.pid!, port, stateDir });
      let output = "";
      for (const stream of [start.stdout, start.stderr]) stream.on("data", (d) => (output += String(d)));
      const code = await new Promise<number | null>((ok) => start.once("exit", ok));
      expect(code).not.toBe(0);
      expect(output).toContain(`127.0.0.1:${port} is already in use`);
      expect(await eventually(() => markedProcesses(mark).length === 0, 8_000)).toBe(true);
    } finally {
      await reapMarked(mark, 0);
      await new Promise((r) => taken.close(r));
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("writes a submitter token and WEBHOOK_HTTP_HOSTS into a fresh .dev.vars, and names the token after", () => {
    // A folder of its own: the real checkout's .dev.vars is left alone.
    const fresh = mkdtempSync(join(tmpdir(), "colmeia-fresh-"));
    try {
      const created = ensureDevVars(fresh);
      const vars = readFileSync(join(fresh, ".dev.vars"), "utf8");
      expect(vars).toMatch(/^SUBMIT_TOKENS=cs_\S+$/m);
      expect(vars).toMatch(/^WEBHOOK_HTTP_HOSTS=127\.0\.0\.1,localhost$/m);
      const token = /^SUBMIT_TOKENS=(.*)$/m.exec(vars)?.[1];
      expect(created).toContain(`COLMEIA_TOKEN=${token}`);
      expect(ensureDevVars(fresh)).toBe(`Submitter token(s) from .dev.vars: ${token}`);
      expect(readFileSync(join(fresh, ".dev.vars"), "utf8")).toBe(vars);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("lists WEBHOOK_HTTP_HOSTS in .dev.vars.example", () => {
    expect(readFileSync(join(root, ".dev.vars.example"), "utf8")).toMatch(/^WEBHOOK_HTTP_HOSTS=127\.0\.0\.1,localhost$/m);
  });
});

describe("test servers", () => {
  it("leave no process, no state folder and a free port behind once stop() resolves, also after a restart", async () => {
    const server = await startLocalServer();
    const needles = [server.stateDir, `127.0.0.1:${server.port}`];
    try {
      await server.restart();
      expect(processesMentioning(...needles).length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
    expect(processesMentioning(...needles)).toEqual([]);
    expect(await portIsFree(server.port)).toBe(true);
    // Its state folder was made for it, and goes with it (a restart keeps it).
    expect(existsSync(server.stateDir)).toBe(false);
  });

  it("stop the grid they started when the browser beside it cannot start, and throw the browser's failure", async () => {
    const port = await freePort();
    let stateDir: string | undefined;
    const noBrowser = () => Promise.reject(new Error("browserType.launch: no chromium here"));
    const started = startGridAndBrowser({ port, onOutput: (chunk) => (stateDir ??= /state in (\S+?);/.exec(chunk)?.[1]) }, noBrowser);
    await expect(started).rejects.toThrow("no chromium here");
    // The grid did start (it said where its state is), and nothing of it is left.
    expect(stateDir).toMatch(/colmeia-state-/);
    expect(existsSync(stateDir!)).toBe(false);
    expect(processesMentioning(stateDir!, `127.0.0.1:${port}`)).toEqual([]);
    expect(await portIsFree(port)).toBe(true);
  });

  it("fail the run from the global teardown when one is still alive, naming and killing it", async () => {
    const runDir = mkdtempSync(join(tmpdir(), "colmeia-fake-run-"));
    const mark = `${runDir}|leaked`;
    const leaked = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { env: { ...process.env, [MARK_ENV]: mark }, stdio: "ignore" });
    recordServer({ mark, pid: leaked.pid!, port: 1234 }, runDir);
    const exited = new Promise((r) => leaked.once("exit", r));
    try {
      await expect(eventually(() => markedProcesses(mark).length === 1, 5_000)).resolves.toBe(true);
      await expect(checkNoServerLeft(runDir)).rejects.toThrow(new RegExp(`pid ${leaked.pid} \\(port 1234, started by .*process-cleanup\\.test\\.ts`));
      await exited;
      expect(markedProcesses(mark)).toEqual([]);
      await expect(checkNoServerLeft(mkdtempSync(join(tmpdir(), "colmeia-clean-run-")))).resolves.toBeUndefined();
    } finally {
      leaked.kill("SIGKILL");
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

import { spawn } from "node:child_process";
import { resolve } from "node:path";

/** The real `colmeia` binary, run the way a user runs it. */
export const COLMEIA_BIN = resolve(import.meta.dirname, "../../bin/colmeia.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to this process's environment (COLMEIA_URL, COLMEIA_TOKEN, ...). */
  env?: Record<string, string>;
  /** Node's own flags before the script (e.g. `--max-old-space-size=64`). */
  nodeArgs?: string[];
  /** Sends one SIGINT once stderr matches this (a Ctrl-C mid-operation). */
  interruptWhen?: RegExp;
}

/** Runs `colmeia args...` to its end and collects its output. */
export function runColmeia(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), COLMEIA_BIN, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    // Decoded as streams: a multi-byte character may straddle two pipe reads.
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
      if (!interrupted && opts.interruptWhen?.test(stderr)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.on("close", (code) => ok({ code, stdout, stderr }));
  });
}

/** A `colmeia volunteer --threads N` running in the background against `url`, and how to Ctrl-C it. */
export function backgroundVolunteer(url: string, threads: number) {
  const child = spawn(process.execPath, [COLMEIA_BIN, "volunteer", "--threads", String(threads)], {
    env: { ...process.env, COLMEIA_URL: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)));
  const started = new Promise<void>((ok) => child.stderr.on("data", () => stderr.includes("Volunteering") && ok()));
  return {
    started,
    stderr: () => stderr,
    /** Sends SIGINT `times` times, 50 ms apart, and resolves with the exit code. */
    async interrupt(times = 1): Promise<number | null> {
      for (let i = 0; i < times; i++) {
        child.kill("SIGINT");
        await new Promise((r) => setTimeout(r, 50));
      }
      return exited;
    },
  };
}

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/local-server.ts";

// The real `colmeia` binary, for everything it must get right before talking to any coordinator.

const bin = resolve(import.meta.dirname, "../../bin/colmeia.js");
const work = mkdtempSync(join(tmpdir(), "colmeia-usage-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((ok) => {
    const child = spawn(command, args, {
      env: { ...process.env, COLMEIA_URL: undefined, COLMEIA_TOKEN: "t", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("close", (code) => ok({ code, stdout, stderr }));
  });
}

const colmeia = (args: string[], env: Record<string, string | undefined> = {}) => run(process.execPath, [bin, ...args], env);

/** One line on stderr, naming the command whose --help explains it, and exit 2. */
function expectUsageError(result: Run, pattern: RegExp, command = "colmeia") {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).toContain(`(see '${command} --help')`);
}

describe("colmeia usage", () => {
  it.each(["submit", "status", "result", "cancel", "list", "volunteer"])("answers --help for %s with exit 0", async (command) => {
    const help = await colmeia([command, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: colmeia ${command}`);
    expect(help.stdout).toContain("--url <url>");
  });

  it("describes every command, the environment and the exit statuses in the top-level --help", async () => {
    const help = await colmeia(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["submit", "status", "result", "cancel", "list", "volunteer"]) expect(help.stdout).toContain(command);
    expect(help.stdout).toMatch(/COLMEIA_URL[\s\S]*COLMEIA_TOKEN[\s\S]*Exit status/);
  });

  it("runs through its shebang as an installed bin would", async () => {
    const result = await run(bin, ["--version"], { PATH: `${dirname(process.execPath)}:${process.env.PATH}` });
    expect(result).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });

  it("re-runs itself with TypeScript support on a Node that does not strip types by default", async () => {
    const result = await run(process.execPath, ["--no-experimental-strip-types", bin, "list", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: colmeia list");
    expect(result.stderr).toBe("");
  });

  it("rejects unknown flags, commands and missing arguments with exit 2", async () => {
    expectUsageError(await colmeia(["submit", "primes.count", "--range", "0:10:1", "--frobnicate"]), /unknown option '--frobnicate'/, "colmeia submit");
    expectUsageError(await colmeia(["status"]), /missing required argument 'id'/, "colmeia status");
    expectUsageError(await colmeia(["launch"]), /unknown command 'launch'/);
    expectUsageError(await colmeia(["volunteer", "--threads"]), /argument missing/, "colmeia volunteer");
  });

  it("rejects malformed values before contacting anyone", async () => {
    expectUsageError(await colmeia(["submit", "primes.count", "--range", "0:10"]), /--range must be start:end:step/, "colmeia submit");
    expectUsageError(await colmeia(["submit", "primes.count", "--range", "9:1:1"]), /start \(9\) must not exceed end \(1\)/, "colmeia submit");
    expectUsageError(await colmeia(["submit", "primes.count"]), /give the shards/, "colmeia submit");
    expectUsageError(await colmeia(["submit", "primes.count", "--range", "0:10:1", "--shards", "x.jsonl"]), /only one of --range, --shards/, "colmeia submit");
    expectUsageError(await colmeia(["submit", "wordcount", "--file", "x.txt", "--chunk", "lots"]), /not a size/, "colmeia submit");
    expectUsageError(await colmeia(["submit", "primes.count", "--range", "0:10:1", "--chunk", "1KiB"]), /--chunk only applies to --file/, "colmeia submit");
    expectUsageError(
      await colmeia(["submit", "primes.count", "--range", "0:10:1", "--replicas", "2", "--quorum", "3"]),
      /--quorum \(3\) must not exceed/,
      "colmeia submit",
    );
    expectUsageError(await colmeia(["submit", "wordcount", "--file", join(work, "missing.txt")]), /missing\.txt: no such file/, "colmeia submit");
    expectUsageError(await colmeia(["volunteer", "--threads", "0"]), /--threads must be a whole number >= 1/, "colmeia volunteer");
    expectUsageError(await colmeia(["list", "--url", "localhost:8787"]), /'--url <url>' argument 'localhost:8787' is invalid/, "colmeia list");
    expectUsageError(await colmeia(["list"], { COLMEIA_URL: "ftp://x" }), /--url <url>.*is invalid/, "colmeia list");
  });

  it("points at the offending line of a --shards file", async () => {
    const file = join(work, "bad.jsonl");
    writeFileSync(file, '{"start":0,"end":10}\n{"start":10,\n');
    expectUsageError(await colmeia(["submit", "primes.count", "--shards", file]), /bad\.jsonl line 2: not valid JSON/, "colmeia submit");
  });

  it("asks for a token when neither --token nor COLMEIA_TOKEN is set", async () => {
    expectUsageError(await colmeia(["list"], { COLMEIA_TOKEN: undefined }), /no submitter token: pass --token or set COLMEIA_TOKEN/, "colmeia list");
  });

  it("says in one line, exit 1, when the coordinator cannot be reached", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const args of [["list"], ["status", "j_0000000000000000", "--json"], ["volunteer", "--threads", "1"]]) {
      const result = await colmeia(args, { COLMEIA_URL: url });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^error: cannot reach the coordinator at ${url}`));
    }
  });
});

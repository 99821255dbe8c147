import { formatMessagesSync } from "esbuild";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { lineFormatter } from "../../scripts/log-format.mjs";
import { startLocalServer } from "../support/local-server.ts";

type Format = (line: string) => string | undefined;
const entry = {
  time: "2026-11-28T09:01:27.368Z",
  level: "info",
  message: "request",
  method: "POST",
  route: "/v1/leases/:id/result",
  path: "/v1/leases/j_abc.3.xyz/result",
  status: 202,
  durationMs: 3.5,
  jobId: "j_abc",
  volunteerId: "v_01",
};
/** A warning as wrangler prints it: esbuild's "▲ [WARNING]" decoration in color, then a blank line. */
const decorated = (text: string) => formatMessagesSync([{ text }], { kind: "warning", color: true })[0]!.split("\n");

describe("npm start's log lines", () => {
  it("prints a request line for a person: time, level, method, path, status, duration, then the ids", () => {
    const format: Format = lineFormatter();
    expect(format(JSON.stringify(entry))).toBe("09:01:27.368 INFO  POST /v1/leases/j_abc.3.xyz/result 202 3.5ms jobId=j_abc volunteerId=v_01");
  });

  it("finds the JSON inside wrangler's warning decoration and drops the blank line after it", () => {
    const warn = { time: entry.time, level: "warn", message: "grid report failed; will retry", jobId: "j_abc", error: "Error: boom" };
    const lines = decorated(JSON.stringify(warn));
    const human: Format = lineFormatter();
    expect(lines.map(human).filter((l) => l !== undefined)).toEqual(['09:01:27.368 WARN  grid report failed; will retry jobId=j_abc error="Error: boom"']);
    const json: Format = lineFormatter({ json: true });
    expect(
      lines
        .map(json)
        .filter((l) => l !== undefined)
        .map((l) => JSON.parse(l!)),
    ).toEqual([warn]);
  });

  it("passes JSON through as one object per line with LOG_FORMAT=json, and wrangler's other lines unchanged", () => {
    const format: Format = lineFormatter({ json: true });
    expect(JSON.parse(format(`\x1b[2m${JSON.stringify(entry)}\x1b[0m`)!)).toEqual(entry);
    expect(format("[wrangler:info] Ready on http://127.0.0.1:8787")).toBe("[wrangler:info] Ready on http://127.0.0.1:8787");
    expect(format("")).toBe("");
    // wrangler's own request line says less than the coordinator's: dropped.
    expect(format("[wrangler:info] GET /v1/stats 200 OK (23ms)")).toBeUndefined();
  });
});

/** A real `npm start` with `env`, one GET /healthz, and what it printed on each stream once the request's line is out. */
async function printedFor(env: Record<string, string>): Promise<{ stdout: string[]; stderr: string[] }> {
  const out = { stdout: "", stderr: "" };
  const server = await startLocalServer({ env, onOutput: (chunk, stream) => (out[stream] += chunk) });
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (!/\/healthz/.test(out.stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await server.stop();
  }
  return { stdout: out.stdout.split("\n").filter(Boolean), stderr: out.stderr.split("\n").filter(Boolean) };
}

describe("npm start's output", () => {
  it("prints the coordinator's request lines for a person at LOG_LEVEL=info", async () => {
    const { stdout } = await printedFor({ LOG_LEVEL: "info" });
    expect(stdout).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/healthz 200 [\d.]+ms$/));
  });

  it("prints only the coordinator's JSON entries on stdout with LOG_FORMAT=json, the rest on stderr", async () => {
    const { stdout, stderr } = await printedFor({ LOG_LEVEL: "info", LOG_FORMAT: "json" });
    const entries = stdout.map((line) => JSON.parse(line));
    expect(entries).toContainEqual(expect.objectContaining({ level: "info", message: "request", method: "GET", path: "/healthz", status: 200 }));
    expect(stderr.join("\n")).toMatch(/Ready on http:\/\/127\.0\.0\.1:\d+/);
  });
});

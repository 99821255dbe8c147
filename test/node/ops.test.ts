import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer, type LocalServer } from "../support/local-server.ts";
import { parseExposition } from "../support/prometheus-text.ts";

const root = resolve(import.meta.dirname, "../..");
const ops = (file: string) => readFileSync(join(root, "ops", file), "utf8");
const METRICS_TOKEN = "ops-test-metrics-token";

type Panel = { type: string; title: string; description?: string; targets?: { expr: string }[]; panels?: Panel[]; datasource?: { uid: string } };
const dashboard = JSON.parse(ops("grafana/colmeia.json")) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
const alertExprs = [...ops("alerts.yml").matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!);
const metricNames = (expr: string) => [...expr.matchAll(/\bcolmeia_[a-zA-Z0-9_:]+/g)].map((m) => m[0]);

let server: LocalServer;
let exported: Set<string>;

beforeAll(async () => {
  server = await startLocalServer({ vars: { METRICS_TOKEN } });
  // A little traffic, so request series exist as they would on any running grid.
  await fetch(`${server.url}/healthz`);
  await fetch(`${server.url}/v1/volunteers`, { method: "POST" });
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  const families = parseExposition(await res.text());
  exported = new Set([...families.values()].flatMap((f) => [f.name, ...f.samples.map((s) => s.name)]));
  for (const f of families.values()) if (f.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(f.name + suffix);
});

afterAll(async () => {
  await server?.stop();
});

describe("ops/: the Grafana board and the Prometheus config against a running `npm start`", () => {
  it("serves /metrics through wrangler dev (routed to the Worker, not the static assets) only with the token", async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect(exported.has("colmeia_volunteers_registered_total")).toBe(true);
    expect(exported.has("colmeia_http_request_duration_seconds_bucket")).toBe(true);
  });

  it("loads a dashboard whose every panel queries only metrics the server exports", () => {
    expect(dashboard).toMatchObject({ uid: "colmeia", title: expect.any(String) });
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: "datasource", type: "datasource" }));
    expect(panels.length).toBeGreaterThanOrEqual(12);
    for (const p of panels) {
      expect(p.description, p.title).toBeTruthy();
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a template
      expect(p.datasource?.uid, p.title).toBe("${datasource}");
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        const names = metricNames(t.expr);
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${p.title}: ${name} is not in /metrics`).toBe(true);
      }
    }
    const exprs = panels.flatMap((p) => p.targets!.map((t) => t.expr)).join("\n");
    expect(exprs).toContain("histogram_quantile(0.99");
    for (const wanted of [
      "colmeia_shards_completed_total",
      "colmeia_volunteers_active",
      "colmeia_jobs_finished_total",
      "colmeia_webhook_deliveries_total",
      "colmeia_jobs_storage_bytes",
    ]) {
      expect(exprs).toContain(wanted);
    }
  });

  it("has alert rules that use only exported metrics", () => {
    expect(alertExprs.length).toBeGreaterThanOrEqual(5);
    for (const expr of alertExprs) for (const name of metricNames(expr)) expect(exported.has(name), `${name} is not in /metrics`).toBe(true);
  });

  it("scrapes what npm start serves, and the README describes every panel", () => {
    const prometheus = ops("prometheus.yml");
    expect(prometheus).toMatch(/targets: \["127\.0\.0\.1:8787"\]/);
    expect(prometheus).toMatch(/metrics_path: \/metrics/);
    expect(prometheus).toMatch(/credentials_file: metrics-token/);
    const readme = ops("README.md");
    for (const p of panels) expect(readme, p.title).toContain(`**${p.title}**`);
  });

  it("answers the deep health check with verdict ok on a fresh local grid", async () => {
    const res = await fetch(`${server.url}/v1/health/deep`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const body = (await res.json()) as { verdict: string; checks: { name: string; ok: boolean; detail: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.verdict).toBe("ok");
    expect(body.checks.every((c) => c.ok)).toBe(true);
    // npm start runs one gateway (one thread runs them all; wrangler.toml's 16 is for Cloudflare).
    expect(body.checks.find((c) => c.name === "GATEWAYS")?.detail).toMatch(/^1 gateway answered/);
  });

  it("`colmeia doctor` prints every deep check and the verdict, and asks for the operator token", async () => {
    const bin = join(root, "bin/colmeia.js");
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [bin, "doctor", "--url", server.url], { env: { ...process.env, ...env } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await run({ COLMEIA_METRICS_TOKEN: METRICS_TOKEN });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Verdict: (ok|degraded)/);
    expect(ok.stdout).toMatch(/BLOBS/);
    const refused = await run({ COLMEIA_METRICS_TOKEN: "" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/metrics-token/);
  });
});

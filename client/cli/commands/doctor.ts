import { Option, type Command } from "commander";
import { z } from "zod";
import { EXIT, ExitWith } from "../exit.ts";
import { printJson, withConnection, type ConnectionFlags } from "../options.ts";

/** `GET /v1/health/deep` as the coordinator answers it. */
const DeepHealth = z.object({
  verdict: z.enum(["ok", "degraded", "failing"]),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), ms: z.number().optional(), detail: z.string().optional(), severity: z.string().optional() })),
});

/** `colmeia doctor`: the coordinator's deep health check (every binding, a job round trip, storage, secrets) with a verdict. */
export function doctorCommand(program: Command): void {
  withConnection(
    program
      .command("doctor")
      .summary("check that a coordinator is healthy")
      .description(
        "Asks the coordinator to check every binding (Durable Objects, R2, assets), a job object round trip, storage headroom and secrets " +
          "(GET /v1/health/deep), and prints each check and a verdict: ok, degraded or failing. Exit 0 when ok or degraded, 1 when failing.",
      )
      .addOption(new Option("--metrics-token <token>", "the operator token (METRICS_TOKEN), when the coordinator sets one").env("COLMEIA_METRICS_TOKEN")),
    { token: false },
  ).action(async (flags: ConnectionFlags & { metricsToken?: string }) => {
    const headers: Record<string, string> = flags.metricsToken ? { authorization: `Bearer ${flags.metricsToken}` } : {};
    let res: Response;
    try {
      res = await fetch(new URL("/v1/health/deep", flags.url), { headers });
    } catch (err) {
      throw new Error(`cannot reach ${flags.url}: ${(err as Error).message} (is it running? npm start)`);
    }
    if (res.status === 401) throw new Error("the coordinator wants its operator token: pass --metrics-token or set COLMEIA_METRICS_TOKEN");
    const body = DeepHealth.safeParse(await res.json().catch(() => undefined));
    if (!body.success) throw new Error(`unexpected answer from ${flags.url}/v1/health/deep (HTTP ${res.status})`);
    const { verdict, checks } = body.data;
    if (flags.json) printJson(body.data);
    else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        const ms = c.ms === undefined ? "" : ` ${Math.round(c.ms)} ms`;
        process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}${ms}${c.detail ? `  ${c.detail}` : ""}\n`);
      }
      process.stdout.write(`\nVerdict: ${verdict}\n`);
    }
    if (verdict === "failing") throw new ExitWith(EXIT.error);
  });
}

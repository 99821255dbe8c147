import { Option, type Command } from "commander";
import { isStatus, operatorClient } from "../../api/index.ts";
import { EXIT, ExitWith } from "../exit.ts";
import { printJson, withConnection, type ConnectionFlags } from "../options.ts";

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
    const health = await operatorClient({ url: flags.url, token: flags.metricsToken })
      .deepHealth()
      .catch((error: unknown) => {
        if (isStatus(error, 401)) throw new Error("the coordinator wants its operator token: pass --metrics-token or set COLMEIA_METRICS_TOKEN");
        throw error;
      });
    const { verdict, checks } = health;
    if (flags.json) printJson(health);
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

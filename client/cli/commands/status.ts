import type { Command } from "commander";
import { follow } from "../follow.ts";
import { formatStatus } from "../format.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

/** `colmeia status <id...> [--watch]`: a job's progress, once or live. */
export function statusCommand(program: Command): void {
  withConnection(
    program
      .command("status")
      .summary("show a job's progress")
      .description("Show a job's state and shard counts. With --watch, follow it live until it ends.")
      .argument("<id...>", "job id(s)")
      .option("--watch", "show a live progress bar until the job ends; exit 3 if it fails or is cancelled"),
  ).action(async (ids: string[], flags: ConnectionFlags & { watch?: boolean }) => {
    const client = submitterFrom(flags);
    if (flags.watch) return follow(client, ids, flags.json ? "json" : "human");
    const statuses = await Promise.all(ids.map((id) => client.status(id)));
    if (flags.json) printJson(ids.length === 1 ? statuses[0] : { jobs: statuses });
    else process.stdout.write(`${statuses.map((s) => formatStatus(s)).join("\n\n")}\n`);
  });
}

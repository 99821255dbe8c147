import type { Command } from "commander";
import { formatCount } from "../format.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

/** `colmeia cancel <id...>`: stops jobs; their outstanding leases answer 410. */
export function cancelCommand(program: Command): void {
  withConnection(
    program
      .command("cancel")
      .summary("cancel a job")
      .description("Cancel jobs: no more shards are handed out and volunteers holding one are told it is gone.")
      .argument("<id...>", "job id(s)"),
  ).action(async (ids: string[], flags: ConnectionFlags) => {
    const client = submitterFrom(flags);
    const answers = [];
    for (const id of ids) answers.push(await client.cancel(id));
    if (flags.json) return printJson(ids.length === 1 ? answers[0] : { jobs: answers });
    for (const { id, state, shards } of answers) {
      const done = `${formatCount(shards.done)}/${formatCount(shards.total)} shards were done`;
      process.stdout.write(state === "cancelled" ? `Cancelled job ${id} (${done})\n` : `Job ${id} had already ended: ${state}\n`);
    }
  });
}

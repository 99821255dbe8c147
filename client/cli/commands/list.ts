import type { Command } from "commander";
import { formatList } from "../format.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

/** `colmeia list`: this token's jobs, newest first. */
export function listCommand(program: Command): void {
  withConnection(program.command("list").summary("list your jobs").description("List the jobs this token submitted, newest first.")).action(
    async (flags: ConnectionFlags) => {
      const answer = await submitterFrom(flags).list();
      if (flags.json) return printJson(answer);
      process.stdout.write(`${formatList(answer.jobs)}\n`);
      if (answer.next !== undefined) process.stdout.write(`(showing the newest ${answer.jobs.length})\n`);
    },
  );
}

import type { Command } from "commander";
import { mergedResult } from "../merge.ts";
import { printJson, submitterFrom, withConnection, type ConnectionFlags } from "../options.ts";

/** `colmeia result <id...>`: a done job's merged result (several ids: merged together). */
export function resultCommand(program: Command): void {
  withConnection(
    program
      .command("result")
      .summary("print a finished job's result")
      .description(
        "Print a done job's merged result. Several ids (the parts of a --split-jobs submission)\n" +
          'print their results merged into one; with --json that is {"ids": [...], "result": ...}.',
      )
      .argument("<id...>", "job id(s)"),
  ).action(async (ids: string[], flags: ConnectionFlags) => {
    const client = submitterFrom(flags);
    if (ids.length === 1) {
      const answer = await client.result(ids[0]!);
      if (flags.json) printJson(answer);
      else process.stdout.write(`${JSON.stringify(answer.result, null, 2)}\n`);
      return;
    }
    const result = await mergedResult(client, ids);
    if (flags.json) printJson({ ids, result });
    else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });
}

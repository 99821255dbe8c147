import { Command } from "commander";
import { readFileSync } from "node:fs";
import { cancelCommand } from "./commands/cancel.ts";
import { datasetCommand } from "./commands/dataset.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { kernelCommand } from "./commands/kernel.ts";
import { listCommand } from "./commands/list.ts";
import { resultCommand } from "./commands/result.ts";
import { statusCommand } from "./commands/status.ts";
import { submitCommand } from "./commands/submit.ts";
import { volunteerCommand } from "./commands/volunteer.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const FOOTER = `
Environment:
  COLMEIA_URL        coordinator URL (default http://127.0.0.1:8787, where npm start serves)
  COLMEIA_TOKEN      submitter token (npm start prints one)
  COLMEIA_STATE_DIR  where unfinished dataset uploads are remembered (default ~/.colmeia)

Exit status: 0 ok, 1 error, 2 bad usage, 3 a watched job failed or was cancelled, 130 interrupted.`;

/**
 * The `colmeia` command line. Errors never exit the process from inside commander: they are
 * thrown (`exitOverride`) so {@link main} decides the exit status, and printed as one line that
 * names the command whose `--help` explains it. `command()` is the command about to run
 * (`colmeia submit`, `colmeia kernel publish`), known before its options are parsed.
 */
export function buildProgram(): { program: Command; command: () => string } {
  let current = "colmeia";
  const program = new Command("colmeia")
    .description("Submit work to a Colmeia volunteer compute grid, follow it, and volunteer compute.")
    .version(pkg.version, "-V, --version")
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(`${message.trimEnd()} (see '${current} --help')\n`),
    })
    .addHelpText("after", FOOTER);
  for (const add of [submitCommand, statusCommand, resultCommand, cancelCommand, listCommand, kernelCommand, datasetCommand, volunteerCommand, doctorCommand])
    add(program);
  onSubcommand(program, (name) => void (current = name));
  return { program, command: () => current };
}

/**
 * Calls `seen` with the full name of the command about to run (`colmeia submit`, `colmeia kernel
 * publish`), before its options are parsed, so errors can point at the right `--help`.
 */
function onSubcommand(program: Command, seen: (name: string) => void): void {
  program.hook("preSubcommand", (_, sub) => seen(`colmeia ${sub.name()}`));
  // Command groups (`colmeia kernel ...`) dispatch once more; commander runs only their own hooks.
  for (const group of program.commands) group.hook("preSubcommand", (_, sub) => seen(`colmeia ${group.name()} ${sub.name()}`));
}

import { CommanderError } from "commander";
import { ColmeiaError } from "../api/index.ts";
import { EXIT, ExitWith, UsageError } from "./exit.ts";
import { buildProgram } from "./program.ts";

/** One line about an error from the coordinator. */
function describe(error: ColmeiaError): string {
  return error.status === 0 ? error.message : `${error.message} (HTTP ${error.status} ${error.code})`;
}

/**
 * Runs `colmeia` with `argv` (without node and script) and resolves with the exit status.
 * Output goes to stdout/stderr; every failure is one line on stderr.
 * @example process.exitCode = await main(["status", "j_0123456789abcdef", "--json"]);
 */
export async function main(argv: string[]): Promise<number> {
  const { program, command } = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Already printed by commander; help and version are not failures.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof ExitWith) return error.code;
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message} (see '${command()} --help')\n`);
      return EXIT.usage;
    }
    if (error instanceof ColmeiaError) {
      process.stderr.write(`error: ${describe(error)}\n`);
      return EXIT.error;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.COLMEIA_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
}

import { InvalidArgumentError, Option, type Command } from "commander";
import { createClient, type ColmeiaClient } from "../api/index.ts";
import { UsageError } from "./exit.ts";

/** Where `npm start` serves the grid; the default when neither --url nor COLMEIA_URL is set. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/** Checks a coordinator URL given by flag or environment. */
function httpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError("expected an http(s) URL such as http://127.0.0.1:8787");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("expected an http(s) URL");
  return text;
}

/** Options every command that talks to the coordinator shares. */
export interface ConnectionFlags {
  url: string;
  token?: string;
  json?: boolean;
}

/** Adds `--url` (and `--token` for submitter commands) with their environment defaults, and `--json`. */
export function withConnection(command: Command, { token = true, json = true } = {}): Command {
  command.addOption(new Option("--url <url>", "coordinator URL").env("COLMEIA_URL").default(DEFAULT_URL).argParser(httpUrl));
  if (token) command.addOption(new Option("--token <token>", "submitter token").env("COLMEIA_TOKEN"));
  if (json) command.option("--json", "print the coordinator's JSON answer, for scripts");
  return command;
}

/** The submitter client for these flags, or a usage error when no token was given. */
export function submitterFrom(flags: ConnectionFlags): ColmeiaClient {
  if (!flags.token) throw new UsageError("no submitter token: pass --token or set COLMEIA_TOKEN (npm start prints one)");
  return createClient({ url: flags.url, token: flags.token });
}

/** Prints a value as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * An AbortSignal that fires on Ctrl-C (SIGINT) or SIGTERM, for commands that wait. While it is
 * installed, those signals no longer kill the process outright.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => (process.off("SIGINT", onSignal), process.off("SIGTERM", onSignal)),
  };
}

/** Exit statuses of `colmeia`, documented in its `--help`. */
export const EXIT = {
  ok: 0,
  /** The coordinator refused or could not be reached, or anything else went wrong. */
  error: 1,
  /** Bad command line: unknown flag, missing argument, malformed value. */
  usage: 2,
  /** A watched job ended `failed` or `cancelled`. */
  jobNotDone: 3,
  /** Interrupted (Ctrl-C) while waiting. */
  interrupted: 130,
} as const;

/** A mistake on the command line: printed as one line with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Ends the command with `code` after its output was already printed. */
export class ExitWith extends Error {
  readonly code: number;
  constructor(code: number, message = "") {
    super(message);
    this.name = "ExitWith";
    this.code = code;
  }
}

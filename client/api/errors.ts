/**
 * A failed call to the coordinator: the HTTP status (0 when it could not be reached), the
 * contract's machine-readable `code` and its human `message`.
 * @example
 * try { await client.result(id) } catch (e) { if (e instanceof ColmeiaError && e.status === 409) ... }
 */
export class ColmeiaError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ColmeiaError";
    this.status = status;
    this.code = code;
  }
}

/** Whether `error` is a {@link ColmeiaError} with the given status. */
export function isStatus(error: unknown, status: number): error is ColmeiaError {
  return error instanceof ColmeiaError && error.status === status;
}

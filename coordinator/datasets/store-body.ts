import { ApiError } from "../errors.ts";
import type { UploadScan } from "./scan.ts";

/**
 * The declared length of a raw upload body, checked against `max` before a byte is read: a body
 * without `content-length` is refused (411), one over `max` too (413).
 */
export function declaredLength(header: string | undefined, max: number, what: string): number {
  if (header === undefined || !/^\d{1,16}$/.test(header)) {
    throw new ApiError(411, "length_required", `${what} needs a content-length header (bodies are streamed to storage, never buffered)`);
  }
  const length = Number(header);
  if (length > max)
    throw new ApiError(
      413,
      "body_too_large",
      `${what} exceeds ${max} bytes${max >= 5 * 2 ** 20 ? "; larger files go up in parts (POST /v1/datasets/uploads)" : ""}`,
    );
  if (length === 0) throw new ApiError(400, "empty_body", `${what} is empty`);
  return length;
}

/**
 * Streams `body` (exactly `length` bytes) through `scan` into `put`, never holding it whole.
 * A body shorter or longer than declared fails the put: a 400, and nothing is kept.
 */
export async function streamThrough<T>(
  body: ReadableStream<Uint8Array> | null,
  length: number,
  scan: UploadScan,
  put: (stream: ReadableStream) => Promise<T>,
): Promise<T> {
  if (!body) throw new ApiError(400, "empty_body", "the request has no body");
  const before = scan.bytes;
  const fixed = new FixedLengthStream(length);
  const piping = body.pipeThrough(scan.through()).pipeTo(fixed.writable);
  try {
    const [stored] = await Promise.all([put(fixed.readable), piping]);
    if (scan.bytes - before !== length) throw new Error("length mismatch");
    return stored;
  } catch {
    throw new ApiError(400, "body_length_mismatch", `the body was not the ${length} bytes its content-length declared (or the connection broke)`);
  }
}

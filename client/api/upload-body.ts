/** Bytes to upload: in memory, a Blob (a browser File), or a stream (then its length must be given). */
export type UploadBody = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

/**
 * A body to upload, or a function that makes it afresh. A function (e.g. one opening the file
 * again) lets a call rate limited with `429` retry; a bare stream can be sent only once.
 */
export type UploadSource = UploadBody | (() => UploadBody);

/** Options of a raw-body upload. */
export interface UploadOptions {
  /** Length of the body in bytes: required for streams, checked for the rest. */
  bytes?: number;
  /** Called as the body is read for sending, with the bytes handed over so far and the total. */
  onProgress?: (sent: number, total: number) => void;
  /** Aborts the upload. */
  signal?: AbortSignal;
}

/** Slice size in which in-memory bodies are handed over when progress is counted. */
const SLICE = 256 * 1024;

/** The length of `body`: its own, or `declared` for a stream (which must then be given). */
export function bodyLength(body: UploadBody, declared?: number): number {
  const own = body instanceof ReadableStream ? undefined : body instanceof Blob ? body.size : body.byteLength;
  if (own === undefined && declared === undefined) throw new Error("uploading a stream needs its length: pass { bytes }");
  if (own !== undefined && declared !== undefined && own !== declared) {
    throw new Error(`the body has ${own} bytes, not the ${declared} given as { bytes }`);
  }
  return (own ?? declared)!;
}

/** A stream that reports the bytes read from it to `onRead` (running total). */
function counted(stream: ReadableStream<Uint8Array>, onRead: (sent: number) => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        sent += chunk.byteLength;
        onRead(sent);
      },
    }),
  );
}

/** In-memory bytes as a stream of slices, so reading them for sending can be counted. */
function sliced(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(at, at + SLICE));
      at += SLICE;
    },
  });
}

/**
 * The request init of a raw upload: `content-length` set (the coordinator streams bodies to
 * storage and needs it up front) and, with `onProgress`, the body counted as fetch reads it.
 * Stream bodies go with `duplex: "half"`, which Node's fetch requires.
 */
export function uploadInit(method: "POST" | "PUT", body: UploadBody, length: number, headers: Record<string, string>, options: UploadOptions): RequestInit {
  const { onProgress } = options;
  let sent: BodyInit = body instanceof ArrayBuffer ? new Uint8Array(body) : (body as BodyInit);
  if (onProgress) {
    onProgress(0, length);
    const stream = body instanceof ReadableStream ? body : body instanceof Blob ? body.stream() : sliced(new Uint8Array(body));
    sent = counted(stream, (n) => onProgress(n, length));
  }
  const init: RequestInit & { duplex?: "half" } = {
    method,
    headers: { ...headers, "content-type": "application/octet-stream", "content-length": String(length) },
    body: sent,
    signal: options.signal,
  };
  if (sent instanceof ReadableStream) init.duplex = "half";
  return init;
}

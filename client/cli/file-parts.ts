import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";

/**
 * Bytes `[start, end)` of a file as a web stream, read as fetch asks for them, each piece also
 * fed to `hash` when given.
 */
export function fileRange(path: string, start: number, end: number, hash?: Hash): ReadableStream<Uint8Array> {
  const stream = Readable.toWeb(createReadStream(path, { start, end: end - 1, highWaterMark: 256 * 1024 })) as ReadableStream<Uint8Array>;
  if (!hash) return stream;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * The SHA-256 of a file built as it is uploaded, so it can be held against the coordinator's.
 * Each attempt at sending the next bytes hashes into a copy; only an attempt the coordinator
 * accepted is committed, so a retried part is never hashed twice.
 */
export function uploadHash() {
  let committed = createHash("sha256");
  let hashed = 0;
  return {
    /** A hash continuing from the committed bytes, for one attempt. */
    attempt: (): Hash => committed.copy(),
    /** The attempt's bytes were accepted; they end at byte `upTo` of the file. */
    commit(hash: Hash, upTo: number): void {
      committed = hash;
      hashed = upTo;
    },
    /** Hashes `[hashed, upTo)` from the file itself (parts sent by an earlier run, or whose answer was lost). */
    async catchUp(path: string, upTo: number): Promise<void> {
      if (upTo <= hashed) return;
      const hash = committed.copy();
      for await (const chunk of fileRange(path, hashed, upTo)) hash.update(chunk);
      committed = hash;
      hashed = upTo;
    },
    /** Bytes hashed so far. */
    get bytes() {
      return hashed;
    },
    hex: (): string => committed.copy().digest("hex"),
  };
}

/** See {@link uploadHash}. */
export type UploadHash = ReturnType<typeof uploadHash>;

/**
 * Splits UTF-8 text into chunks of at most about `chunkBytes` bytes without ever cutting a word
 * (a run of letters and digits, as `wordcount` counts them) or a multi-byte character.
 *
 * Cuts go after the last newline that fits. A line longer than the chunk is cut after its last
 * ASCII space or punctuation that fits instead; both are single bytes that UTF-8 never uses
 * inside a multi-byte character, and neither is part of a word. A chunk with no such place at
 * all grows to the next one (up to `hardMaxBytes`).
 *
 * Decoding each chunk gives exactly the text of decoding the whole file, so counting the chunks
 * and summing equals counting the file.
 */
export function chunkText(bytes: Uint8Array, chunkBytes: number, hardMaxBytes = Infinity): Buffer[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    if (buf.length - start <= chunkBytes) {
      chunks.push(buf.subarray(start));
      break;
    }
    const limit = start + chunkBytes; // the cut goes at or before this index
    let cut = buf.lastIndexOf(0x0a, limit - 1) + 1;
    if (cut <= start) cut = lastSafeCut(buf, start, limit);
    if (cut <= start) cut = firstSafeCut(buf, limit, Math.min(buf.length, start + hardMaxBytes));
    if (cut <= start) {
      throw new RangeError(`the text at byte ${start} runs for more than ${hardMaxBytes} bytes without a line break, space or punctuation to split at`);
    }
    chunks.push(buf.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

/** ASCII bytes that are neither letters nor digits: a word can never span a cut after one. */
function isBreak(byte: number): boolean {
  return byte < 0x80 && !((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a));
}

function lastSafeCut(buf: Buffer, start: number, limit: number): number {
  for (let i = limit - 1; i >= start; i--) if (isBreak(buf[i]!)) return i + 1;
  return -1;
}

function firstSafeCut(buf: Buffer, from: number, until: number): number {
  for (let i = from; i < until; i++) if (isBreak(buf[i]!)) return i + 1;
  return until === buf.length ? until : -1;
}

import { Sha256, type Sha256State } from "./sha256.ts";

/**
 * Most newlines inside quoted CSV fields a dataset may hold for CSV jobs to cut it exactly
 * (their positions are kept beside the dataset; a CSV job over one with more is refused).
 */
export const QUOTED_NEWLINES_MAX = 10_000;

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** An upload scan's state between the parts of a multipart upload: plain JSON. */
export interface ScanState {
  sha: Sha256State;
  bytes: number;
  inQuote: boolean;
  /** Positions of `\n` bytes inside `"`-quoted CSV fields; null once past {@link QUOTED_NEWLINES_MAX}. */
  quoted: number[] | null;
}

/**
 * What a dataset upload learns on its way to storage, in one pass over the bytes: the SHA-256 of
 * the whole dataset and, for CSV (RFC 4180: a quote inside a quoted field is doubled, so quote
 * parity tells inside from outside), where newlines sit inside quoted fields. Those newlines
 * end no record, so jobs never cut a shard there.
 */
export class UploadScan {
  readonly #sha: Sha256;
  #bytes: number;
  #inQuote: boolean;
  #quoted: number[] | null;

  constructor(state?: ScanState) {
    this.#sha = new Sha256(state?.sha);
    this.#bytes = state?.bytes ?? 0;
    this.#inQuote = state?.inQuote ?? false;
    this.#quoted = state ? state.quoted && [...state.quoted] : [];
  }

  get bytes(): number {
    return this.#bytes;
  }

  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    // Outside quotes only the next quote matters; inside, every newline up to the closing quote.
    let i = 0;
    while (i < chunk.length) {
      const q = chunk.indexOf(QUOTE, i);
      const end = q < 0 ? chunk.length : q;
      if (this.#inQuote && this.#quoted) {
        for (let n = chunk.indexOf(NEWLINE, i); n >= 0 && n < end; n = chunk.indexOf(NEWLINE, n + 1)) {
          if (this.#quoted.length >= QUOTED_NEWLINES_MAX) {
            this.#quoted = null;
            break;
          }
          this.#quoted.push(this.#bytes + n);
        }
      }
      if (q < 0) break;
      this.#inQuote = !this.#inQuote;
      i = q + 1;
    }
    this.#bytes += chunk.length;
  }

  save(): ScanState {
    return { sha: this.#sha.save(), bytes: this.#bytes, inQuote: this.#inQuote, quoted: this.#quoted && [...this.#quoted] };
  }

  /** The dataset's SHA-256 (hex) and quoted newlines; the scan is spent afterwards. */
  finish(): { sha256: string; quoted: number[] | null } {
    return { sha256: this.#sha.hex(), quoted: this.#quoted };
  }

  /** A stream that passes bytes through unchanged while scanning them. */
  through(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        this.update(chunk);
        controller.enqueue(chunk);
      },
    });
  }
}

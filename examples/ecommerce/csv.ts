// RFC 4180 CSV for the generator and the direct reader: quote a field when it holds a comma, a
// quote or a line break (doubling its quotes), and find where records end in streamed text.
// Parsing the records is the kernel's own (shared/kernels/csv.ts).

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One field as RFC 4180 writes it.
 * @example csvField('Mug, ceramic') // '"Mug, ceramic"'
 */
export function csvField(value: string | number): string {
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record: its fields quoted as needed, joined by commas, ended by `\n`. */
export function csvLine(values: readonly (string | number)[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

/**
 * Where complete records end in a stream of text pieces: feed each piece, learn how much of what
 * was fed so far (carried over plus the piece) is whole records. Quote parity tells a line break
 * inside a quoted field from one that ends a record (a quote inside quotes is doubled).
 */
export function recordEnds(csv: boolean) {
  let inQuote = false;
  return {
    /** The index just past the last record end in `piece` (scanned from `from`), or -1. */
    lastEnd(piece: string, from = 0): number {
      if (!csv) return piece.lastIndexOf("\n") + 1 || -1;
      let last = -1;
      let i = from;
      while (i < piece.length) {
        const q = piece.indexOf('"', i);
        const stop = q < 0 ? piece.length : q;
        if (!inQuote) {
          const nl = piece.lastIndexOf("\n", stop - 1);
          if (nl >= i) last = nl + 1;
        }
        if (q < 0) break;
        inQuote = !inQuote;
        i = q + 1;
      }
      return last;
    },
  };
}

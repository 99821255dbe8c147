/**
 * RFC 4180 records read one at a time from a text, with no array of its lines built first.
 * Every `"` toggles "inside a quoted field", the same parity rule dataset uploads use to index
 * quoted newlines (coordinator/datasets/scan.ts), so shards cut at record ends there parse here
 * exactly as the whole file would.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Reads the records of a CSV text in order. Fields are separated by commas; inside quotes `""` is
 * a literal quote, and commas and newlines belong to the field. `\n` and `\r\n` end a record;
 * empty lines are passed over. A quote that is never closed runs to the end of the text.
 * @example
 * const csv = new CsvReader('id,name\n1,"Smith, J"\n');
 * while (csv.next()) console.log(csv.fields); // ["id", "name"], then ["1", "Smith, J"]
 */
export class CsvReader {
  /** Fields of the record last read (the same array, refilled by every `next()`). */
  readonly fields: string[] = [];
  /** Whether the record last read ended inside a quoted field, at the end of the text. */
  unterminated = false;
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** Reads the next record into `fields`; false once the text holds no more. */
  next(): boolean {
    const text = this.#text;
    const n = text.length;
    let i = this.#pos;
    for (;;) {
      if (i >= n) {
        this.#pos = n;
        return false;
      }
      const c = text.charCodeAt(i);
      if (c === LF) i += 1;
      else if (c === CR && (i + 1 === n || text.charCodeAt(i + 1) === LF)) i += 2;
      else break;
    }
    const fields = this.fields;
    fields.length = 0;
    this.unterminated = false;
    // A field is unquoted runs and quoted segments in turn; `value` holds what is done of it.
    let value = "";
    let run = i;
    let closedAt = -1;
    for (;;) {
      if (i >= n) {
        const end = i > run && text.charCodeAt(i - 1) === CR ? i - 1 : i;
        fields.push(value + text.slice(run, end));
        this.#pos = n;
        return true;
      }
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        value += text.slice(run, i);
        // A quote right after a closing one is the second half of a doubled `""`.
        if (closedAt === i) value += '"';
        const close = text.indexOf('"', i + 1);
        if (close < 0) {
          fields.push(value + text.slice(i + 1));
          this.unterminated = true;
          this.#pos = n;
          return true;
        }
        value += text.slice(i + 1, close);
        i = run = closedAt = close + 1;
      } else if (c === COMMA) {
        fields.push(value + text.slice(run, i));
        value = "";
        i = run = i + 1;
      } else if (c === LF) {
        const end = i > run && text.charCodeAt(i - 1) === CR ? i - 1 : i;
        fields.push(value + text.slice(run, end));
        this.#pos = i + 1;
        return true;
      } else {
        i += 1;
      }
    }
  }
}

/** The fields of the first record of `text` (a CSV header line), or `[]` when it holds none. */
export function csvHeader(text: string): string[] {
  const csv = new CsvReader(text);
  return csv.next() ? [...csv.fields] : [];
}

import { describe, expect, it } from "vitest";
import { CsvReader, csvHeader } from "./csv.ts";

/** Every record of `text`, with `!` appended to the last field of an unterminated one. */
function records(text: string): string[][] {
  const csv = new CsvReader(text);
  const out: string[][] = [];
  while (csv.next()) out.push(csv.unterminated ? [...csv.fields.slice(0, -1), `${csv.fields.at(-1)}!`] : [...csv.fields]);
  return out;
}

describe("CsvReader (RFC 4180)", () => {
  it("splits plain fields at commas and records at LF, with or without a final newline", () => {
    expect(records("a,b,c\n1,2,3\n")).toEqual([
      ["a", "b", "c"],
      ["1", "2", "3"],
    ]);
    expect(records("a,b,c\n1,2,3")).toEqual([
      ["a", "b", "c"],
      ["1", "2", "3"],
    ]);
  });

  it("ends records at CRLF without keeping the CR, also on a final line", () => {
    expect(records("a,b\r\n1,2\r\n")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
    expect(records("a,b\r\n1,2\r")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
    expect(records('"a","b"\r\n')).toEqual([["a", "b"]]);
  });

  it("keeps commas inside quoted fields", () => {
    expect(records('1,"Smith, J",x\n')).toEqual([["1", "Smith, J", "x"]]);
  });

  it("reads a doubled quote inside a quoted field as one literal quote", () => {
    expect(records('"say ""hi""",""""\n')).toEqual([['say "hi"', '"']]);
    expect(records('"",x,""\n')).toEqual([["", "x", ""]]);
  });

  it("keeps LF and CRLF newlines inside quoted fields, so one record spans several lines", () => {
    expect(records('1,"two\nlines",3\n2,"crlf\r\ninside\r\n",4\r\n5,6,7')).toEqual([
      ["1", "two\nlines", "3"],
      ["2", "crlf\r\ninside\r\n", "4"],
      ["5", "6", "7"],
    ]);
  });

  it("passes over empty lines (LF and CRLF) at the start, between records and at the end", () => {
    expect(records("\n\r\na,b\n\n\r\n1,2\n\n")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
    expect(records("")).toEqual([]);
    expect(records("\n\r\n\n")).toEqual([]);
  });

  it("keeps empty fields, including a trailing one, and blank lines that hold spaces", () => {
    expect(records(",,\na,\n \n")).toEqual([["", "", ""], ["a", ""], [" "]]);
  });

  it("reads an unterminated quote as one last record that runs to the end of the text", () => {
    expect(records('a,b\n1,"open\n2,3\n')).toEqual([
      ["a", "b"],
      ["1", "open\n2,3\n!"],
    ]);
    expect(records('"x""')).toEqual([['x"!']]);
    expect(records('"x"""')).toEqual([['x"']]);
  });

  it("leaves ragged rows to the caller: each record has the fields it has", () => {
    expect(records("a,b,c\n1,2\n1,2,3,4\n")).toEqual([
      ["a", "b", "c"],
      ["1", "2"],
      ["1", "2", "3", "4"],
    ]);
  });

  it("takes quotes by parity like the dataset upload scan: a stray quote opens a quoted run", () => {
    expect(records('ab"c,d"e,f\ng\n')).toEqual([["abc,de", "f"], ["g"]]);
    expect(records('a"b\nc"\nd\n')).toEqual([["ab\nc"], ["d"]]);
  });

  it("ends records exactly at the newlines with an even number of quotes before them, for every short text", () => {
    const alphabet = ["a", ",", '"', "\n", "\r"];
    let texts = [""];
    for (let length = 1; length <= 6; length++) {
      texts = texts.flatMap((t) => alphabet.map((ch) => t + ch));
      for (const text of texts) {
        // Independent count: records are the stretches between newlines outside quotes, but for empty lines.
        let want = 0;
        let inside = false;
        let line = "";
        for (const ch of text) {
          if (ch === '"') inside = !inside;
          if (ch === "\n" && !inside) {
            if (line !== "" && line !== "\r") want++;
            line = "";
          } else line += ch;
        }
        if (line !== "" && line !== "\r") want++;
        expect(records(text).length, JSON.stringify(text)).toBe(want);
      }
    }
  });

  it("reads a header line's fields, or none from an empty text", () => {
    expect(csvHeader('id,"name, full",price\r\n1,2,3')).toEqual(["id", "name, full", "price"]);
    expect(csvHeader("")).toEqual([]);
  });
});

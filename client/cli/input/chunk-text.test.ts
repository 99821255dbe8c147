import { describe, expect, it } from "vitest";
import { countWords, mergeCounts } from "../../../shared/kernels/wordcount.ts";
import { chunkText } from "./chunk-text.ts";

const bytes = (s: string) => Buffer.from(s, "utf8");
const texts = (chunks: Buffer[]) => chunks.map((c) => c.toString("utf8"));

/** Word counts of the chunks, merged: must equal counting the whole text. */
function mergedCounts(chunks: Buffer[]) {
  return chunks.reduce((acc, c) => mergeCounts(acc, countWords({ text: c.toString("utf8") })), { counts: {} });
}

describe("chunkText", () => {
  it("cuts only after newlines when every line fits", () => {
    const text = "alpha beta\ngamma delta\nepsilon\nzeta eta theta\n";
    const chunks = chunkText(bytes(text), 16);
    expect(Buffer.concat(chunks).toString()).toBe(text);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(16);
      expect(c.toString().endsWith("\n")).toBe(true);
    }
  });

  it("keeps CRLF line ends whole", () => {
    const chunks = texts(chunkText(bytes("one two\r\nthree four\r\nfive\r\n"), 12));
    expect(chunks).toEqual(["one two\r\n", "three four\r\n", "five\r\n"]);
  });

  it("never splits a multi-byte character and each chunk decodes to its part of the text", () => {
    const text = "Ação coração 東京 日本語\nслово Ελλάδα 😀 ok\nnaïve Straße\n".repeat(50);
    const chunks = chunkText(bytes(text), 40);
    expect(texts(chunks).join("")).toBe(text);
    for (const c of chunks) expect(Buffer.from(c.toString("utf8"), "utf8").equals(c)).toBe(true);
  });

  it("cuts a line longer than the chunk at a space or punctuation, never inside a word", () => {
    const line = Array.from({ length: 200 }, (_, i) => `palavra${i}${i % 3 ? " " : ", "}`).join("");
    const chunks = chunkText(bytes(line), 50);
    expect(chunks.length).toBeGreaterThan(10);
    expect(texts(chunks).join("")).toBe(line);
    expect(mergedCounts(chunks)).toEqual(countWords({ text: line }));
  });

  it("lets a chunk grow past the size to reach the end of a long word", () => {
    const word = "東".repeat(100); // one word of 300 bytes: letters only, no place to cut
    const chunks = texts(chunkText(bytes(`${word} tail`), 64));
    expect(chunks[0]).toBe(`${word} `);
    expect(chunks.join("")).toBe(`${word} tail`);
  });

  it("refuses text that runs past the hard limit without any place to cut", () => {
    expect(() => chunkText(bytes("a".repeat(1000)), 64, 256)).toThrow(/without a line break, space or punctuation/);
  });

  it("gives the same word counts, summed over chunks, as counting the whole text", () => {
    const words = ["Olá", "olá", "東京", "naïve", "x2", "42", "don't", "a-b", "Straße", "emoji😀ok"];
    let seed = 1;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const lines = Array.from({ length: 3000 }, () =>
      Array.from({ length: 1 + (next() % 15) }, () => words[next() % words.length]).join(next() % 2 ? " " : "\t"),
    );
    const text = lines.join(next() % 2 ? "\n" : "\r\n");
    for (const size of [7, 64, 1000, 64 * 1024]) {
      expect(mergedCounts(chunkText(bytes(text), size))).toEqual(countWords({ text }));
    }
  });

  it("returns one chunk for text smaller than the chunk and none for no text", () => {
    expect(texts(chunkText(bytes("small"), 100))).toEqual(["small"]);
    expect(chunkText(bytes(""), 100)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { kernels } from "./registry.ts";
import { countPrimes } from "./primes.ts";

const isPrime = (n: number) => {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
};

describe("built-in kernels", () => {
  it("counts primes in [start, end) exactly like trial division", () => {
    for (const [start, end] of [
      [0, 0],
      [0, 3],
      [2, 3],
      [3, 4],
      [0, 1000],
      [997, 1010],
      [65_000, 70_123],
    ] as const) {
      let want = 0;
      for (let n = start; n < end; n++) if (isPrime(n)) want++;
      expect(countPrimes({ start, end }).count, `${start}..${end}`).toBe(want);
    }
  });

  it("counts primes like trial division around the small primes, segment edges and large starts", () => {
    const segmentSpan = 2 * (1 << 20);
    const ranges: [number, number][] = [];
    for (let a = 0; a < 40; a++) for (const len of [1, 2, 5, 17, 30]) ranges.push([a, a + len]);
    for (const edge of [segmentSpan, 2 * segmentSpan]) ranges.push([edge - 3000, edge + 3000], [1, edge + 3]);
    for (const big of [1e12, 2 ** 40 + 1]) ranges.push([big, big + 600]);
    for (const [start, end] of ranges) {
      let want = 0;
      for (let n = start; n < end; n++) if (isPrime(n)) want++;
      expect(countPrimes({ start, end }).count, `${start}..${end}`).toBe(want);
    }
  });

  it("counts the same primes in one range as in its parts, wherever segments and words are cut", () => {
    const start = 1e12 + 12_345;
    const whole = countPrimes({ start, end: start + 5_000_077 }).count;
    for (const cut of [1, 63, 64, 2_097_151, 2_097_152 + 31, 4_194_305]) {
      expect(countPrimes({ start, end: start + cut }).count + countPrimes({ start: start + cut, end: start + 5_000_077 }).count, `cut at ${cut}`).toBe(whole);
    }
  });

  it("counts 148933 primes below 2,000,000 across 40 shards", () => {
    let total = 0;
    for (let i = 0; i < 40; i++) total += countPrimes({ start: i * 50_000, end: (i + 1) * 50_000 }).count;
    expect(total).toBe(148_933);
  });

  it("accepts its own wordcount output for every script, including lower-cased dotted capitals", () => {
    const wc = kernels.get("wordcount")!;
    const text = "İstanbul e Ankara! Ελλάδα, ΕΛΛΆΔΑ; 東京 2024 ÆSIR æsir constructor __proto__";
    const out = wc.compute({ text }, {}) as { counts: Record<string, number> };
    expect(out.counts["ελλάδα"]).toBe(2);
    expect(out.counts["constructor"]).toBe(1);
    expect(out.counts["proto"]).toBe(1);
    expect(wc.output.safeParse(out).success).toBe(true);
  });

  it("rejects outputs of the wrong shape", () => {
    const primes = kernels.get("primes.count")!;
    expect(primes.output.safeParse({ count: 1.5 }).success).toBe(false);
    expect(primes.output.safeParse({ count: 1, extra: 0 }).success).toBe(false);
    expect(primes.output.safeParse({}).success).toBe(false);
    const wc = kernels.get("wordcount")!;
    expect(wc.output.safeParse({ counts: { "two words": 1 } }).success).toBe(false);
    expect(wc.output.safeParse({ counts: { a: 0 } }).success).toBe(false);
  });

  it("merges with an associative reduce from the identity", () => {
    const wc = kernels.get("wordcount")!;
    const merged = [{ counts: { a: 1 } }, { counts: { a: 2, b: 1 } }].reduce((acc, o) => wc.reduce(acc, o), wc.identity());
    expect(merged).toEqual({ counts: { a: 3, b: 1 } });
  });

  it("lets the coordinator check only inputs that are cheap to compute", () => {
    const primes = kernels.get("primes.count")!;
    expect(primes.checkable({ start: 0, end: 50_000 })).toBe(true);
    expect(primes.checkable({ start: 0, end: 100_000_000 })).toBe(false);
    expect(primes.checkable({ start: 2 ** 53 - 10, end: 2 ** 53 })).toBe(false);
    expect(kernels.get("wordcount")!.checkable({ text: "x".repeat(2_000_000) })).toBe(false);
  });
});

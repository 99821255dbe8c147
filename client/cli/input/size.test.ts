import { describe, expect, it } from "vitest";
import { UsageError } from "../exit.ts";
import { parseSize } from "./size.ts";

describe("parseSize", () => {
  it("reads binary and decimal units", () => {
    expect(parseSize("64KiB")).toBe(65_536);
    expect(parseSize("64k")).toBe(65_536);
    expect(parseSize("500kB")).toBe(500_000);
    expect(parseSize("1.5MiB")).toBe(1_572_864);
    expect(parseSize("4096")).toBe(4096);
  });
  it.each(["", "KiB", "12 parsecs", "-1KiB", "0"])("rejects %j", (text) => expect(() => parseSize(text)).toThrow(UsageError));
});

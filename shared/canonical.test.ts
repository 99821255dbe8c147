import { describe, expect, it } from "vitest";
import { canonicalJson, hexOf, randomHex, sha256Hex } from "./canonical.ts";

describe("hexOf", () => {
  it("writes every byte as two lower-case digits, in order", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = hexOf(all);
    expect(hex).toHaveLength(512);
    expect(hex.slice(0, 8)).toBe("00010203");
    expect(hex.slice(-6)).toBe("fdfeff");
    expect(hex).toBe(Buffer.from(all).toString("hex"));
    // An ArrayBuffer and a view of it read alike; an empty one is the empty string.
    expect(hexOf(all.buffer)).toBe(hex);
    expect(hexOf(new Uint8Array(0))).toBe("");
  });

  it("gives the known SHA-256 of a text, and random hex of the asked length", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex(canonicalJson({ b: 1, a: [2] }))).toBe(await sha256Hex('{"a":[2],"b":1}'));
    expect(randomHex(12)).toMatch(/^[0-9a-f]{24}$/);
  });
});

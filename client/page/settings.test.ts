import { describe, expect, it } from "vitest";
import { defaultThreads, parseSettings } from "./settings.ts";

describe("parseSettings", () => {
  it("starts at once with the thread count the URL asks for", () => {
    expect(parseSettings("?autostart=1&threads=3", {}, 8)).toMatchObject({ autostart: true, threads: 3 });
  });

  it("defaults to hardware threads minus one, at least one, without autostart", () => {
    expect(parseSettings("", {}, 8)).toMatchObject({ autostart: false, threads: 7, dutyCycle: 1, onlyVisible: false });
    expect(defaultThreads(1)).toBe(1);
  });

  it("prefers the URL over saved settings, and saved settings over defaults", () => {
    const stored = { threads: 2, dutyCycle: 0.5, onlyVisible: true };
    expect(parseSettings("", stored, 8)).toMatchObject({ threads: 2, dutyCycle: 0.5, onlyVisible: true });
    expect(parseSettings("?threads=5&throttle=30", stored, 8)).toMatchObject({ threads: 5, dutyCycle: 0.3 });
  });

  it("clamps nonsense to safe values", () => {
    expect(parseSettings("?threads=0&throttle=1", {}, 4)).toMatchObject({ threads: 1, dutyCycle: 0.1 });
    expect(parseSettings("?threads=9999&shardTimeoutMs=x", {}, 4)).toMatchObject({ threads: 4, shardTimeoutMs: 120_000 });
    // A link asks for at most the device's cores; the volunteer's own saved choice is its own.
    expect(parseSettings("?autostart=1&threads=64", {}, 4)).toMatchObject({ autostart: true, threads: 4 });
    expect(parseSettings("?threads=64", {}, 128).threads).toBe(64);
    expect(parseSettings("", { threads: 12 }, 4).threads).toBe(12);
    expect(parseSettings("?threads=abc", {}, 4).threads).toBe(3);
  });
});

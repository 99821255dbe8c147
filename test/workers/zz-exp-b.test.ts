import { exports, env } from "cloudflare:workers";
import { expect, it } from "vitest";
it("b", async () => {
  await new Promise((r) => setTimeout(r, 700));
  const l = await exports.default.fetch("http://x/v1/jobs", { headers: { authorization: "Bearer tok-alice" } });
  console.log("B list", await l.text());
});
it("b2", async () => {
  const res = await exports.default.fetch("http://x/v1/jobs", { method: "POST", headers: { authorization: "Bearer tok-alice", "content-type": "application/json" }, body: JSON.stringify({ kernel: "primes.count", range: { start: 0, end: 100, step: 10 } }) });
  const l = await exports.default.fetch("http://x/v1/jobs", { headers: { authorization: "Bearer tok-alice" } });
  console.log("B2 list", await l.text());
});
it("b3", async () => {
  const l = await exports.default.fetch("http://x/v1/jobs", { headers: { authorization: "Bearer tok-alice" } });
  console.log("B3 list", await l.text());
});

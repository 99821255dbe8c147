import { exports, env } from "cloudflare:workers";
import { expect, it } from "vitest";
it("a", async () => {
  const res = await exports.default.fetch("http://x/v1/jobs", { method: "POST", headers: { authorization: "Bearer tok-alice", "content-type": "application/json" }, body: JSON.stringify({ kernel: "primes.count", range: { start: 0, end: 100, step: 10 } }) });
  console.log("A created", res.status, await res.text());
  await new Promise((r) => setTimeout(r, 1500));
  const l = await exports.default.fetch("http://x/v1/jobs", { headers: { authorization: "Bearer tok-alice" } });
  console.log("A list", await l.text());
});

/**
 * Reproduces, step by step over HTTP, how an honest volunteer gets blacklisted by the adaptive
 * policy (found by bench/trust.ts): a ringer is judged against the shard's *current* state, and
 * backtracking a caught volunteer reopens shards the coordinator had verified itself, so an honest
 * volunteer holding a ringer of such a shard fails it.
 *
 *   node bench/trust/repro-ringer.ts
 *
 * Prints each step and "REPRODUCED" when the honest volunteer ends up blacklisted. Ringers are
 * random (10% per leased slot for new volunteers); with 64 slots the ringer is there 99.9% of the time.
 */
import { rmSync } from "node:fs";
import { compute } from "../../shared/kernels/compute.ts";
import { startLocalServer } from "../../test/support/local-server.ts";
import { JsonClient, sleep } from "../lib/http.ts";
import { shardInput } from "./model.ts";
import type { Profile } from "../../coordinator/objects/volunteer-object.ts";

interface Lease {
  id: string;
  shardId: string;
  input: unknown;
}

const server = await startLocalServer({ vars: { REGISTRATIONS_PER_MINUTE: "1000000", SUBMIT_RATE_PER_MINUTE: "1000000" } });
const http = new JsonClient(server.url);
const submit = server.tokens[0];
const right = (l: Lease) => compute.wordcount!(l.input, {});
const log = (s: string) => console.log(s);

try {
  const job = await http.must<{ id: string }>(201, "POST", "/v1/jobs", {
    token: submit,
    body: { kernel: "wordcount", params: {}, shards: Array.from({ length: 200 }, (_, i) => shardInput(i, 3)), leaseTtlMs: 60_000 },
  });
  const reg = async () => (await http.must<{ token: string }>(201, "POST", "/v1/volunteers", { body: {} })).token;
  const [a, b, c] = [await reg(), await reg(), await reg()];
  const lease = async (token: string, max: number) => (await http.must<{ leases: Lease[] }>(200, "POST", "/v1/leases", { token, body: { max } })).leases;
  const send = async (token: string, results: { leaseId: string; output: unknown }[]) =>
    (await http.must<{ results: { status: number; error?: { code: string } }[] }>(200, "POST", "/v1/results", { token, body: { results } })).results;
  const profile = (token: string) => http.must<Profile>(200, "GET", "/v1/volunteers/me", { token });
  const status = () => http.must<{ state: string; shards: { done: number } }>(200, "GET", `/v1/jobs/${job.id}`, { token: submit });

  // 1. A and B (both new) compute shard 0 and agree on the right output. The first accepted shards
  //    of an adaptive job are always checked by the coordinator, so shard 0 is verified: a ringer.
  const [a0] = await lease(a, 1);
  const [b0] = await lease(b, 1);
  log(`1. A leased shard ${a0?.shardId}, B leased shard ${b0?.shardId}`);
  await send(a, [{ leaseId: a0!.id, output: right(a0!) }]);
  await send(b, [{ leaseId: b0!.id, output: right(b0!) }]);
  log(`   both submitted the right output; job done count ${(await status()).shards.done}`);

  // 2. C (honest, new) leases 64: fresh shards 1.., and very likely a ringer of shard 0.
  const cLeases = await lease(c, 64);
  const ringer = cLeases.find((l) => l.shardId === "0");
  if (!ringer) throw new Error("C got no ringer of shard 0 this time (0.1% chance); run again");
  const c1 = cLeases.find((l) => l.shardId === "1")!;
  log(`2. C leased ${cLeases.length} shards, among them a ringer of shard 0 (and shard 1)`);

  // 3. A leases the second replica of shard 1 and answers it wrongly; C answers shard 1 rightly.
  //    The coordinator arbitrates, proves A wrong, blacklists A and backtracks everything A did,
  //    which reopens shard 0 although the coordinator had verified its output itself.
  await sleep(2500); // let reputation flush so B's agreement on shard 0 is on record
  const bBefore = await profile(b);
  const [a1] = await lease(a, 1);
  log(`3. A leased shard ${a1?.shardId}; B's profile now: validated ${bBefore.validated}`);
  await send(c, [{ leaseId: c1.id, output: right(c1) }]);
  const wrong = { counts: Object.fromEntries(Object.entries((right(a1!) as { counts: Record<string, number> }).counts).map(([w, n]) => [w, n + 1])) };
  await send(a, [{ leaseId: a1!.id, output: wrong }]);
  for (let i = 0; i < 50 && (await status()).shards.done !== 0; i++) await sleep(100);
  log(`   A answered shard 1 wrongly → A blacklisted: ${(await profile(a)).blacklisted}; job done count now ${(await status()).shards.done} (shard 0 reopened)`);

  // 4. C, honest, answers its ringer of shard 0 rightly.
  const r = await send(c, [{ leaseId: ringer.id, output: right(ringer) }]);
  log(`4. C submitted the RIGHT output for its ringer of shard 0 → ${r[0]!.status}`);
  let pc = await profile(c);
  for (let i = 0; i < 30 && !pc.blacklisted; i++) (await sleep(100), (pc = await profile(c)));
  await sleep(2500);
  const bAfter = await profile(b);
  log(`   C blacklisted: ${pc.blacklisted}${pc.reason ? ` (reason: "${pc.reason}")` : ""}`);
  log(`   B (honest, agreed with A on the RIGHT output of shard 0): validated ${bBefore.validated} → ${bAfter.validated}`);
  console.log(pc.blacklisted ? "REPRODUCED: an honest volunteer was blacklisted for a correct ringer answer." : "not reproduced");
} finally {
  http.close();
  await server.stop();
  rmSync(server.stateDir, { recursive: true, force: true });
}

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PUSH_BATCH, type GridObject } from "../../coordinator/objects/grid-object.ts";
import type { VolunteerObject } from "../../coordinator/objects/volunteer-object.ts";
import { callJson, lease, primesJob, sleep, submitAll, volunteer, type Volunteer } from "./helpers.ts";

const grid = () => env.GRID.get(env.GRID.idFromName("grid")) as unknown as DurableObjectStub<GridObject>;
const record = (v: Volunteer) => env.VOLUNTEERS.get(env.VOLUNTEERS.idFromName(v.id)) as unknown as DurableObjectStub<VolunteerObject>;
const me = async (v: Volunteer) => (await callJson<{ credit: number; results: number; trusted: boolean }>("GET", "/v1/volunteers/me", { token: v.token })).body;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

describe("a volunteer's credit in its own object", () => {
  it("answers /v1/volunteers/me with the credit it earned, from its own object, and keeps the grid's leaderboard", async () => {
    await primesJob(3);
    const v = await volunteer();
    expect(await me(v)).toMatchObject({ credit: 0, results: 0, trusted: false });
    await submitAll(v, await lease(v, 3));
    await until("its credit arrives", async () => (await me(v)).credit === 3);
    expect(await me(v)).toMatchObject({ credit: 3, results: 3 });
    expect(await runInDurableObject(record(v), (o: VolunteerObject) => o.sql.exec("SELECT credit, results FROM credit").toArray())).toEqual([
      { credit: 3, results: 3 },
    ]);

    // The grid still ranks it (topContributors), but /me no longer reads the grid: a change there alone is not seen.
    expect((await grid().stats()).topContributors).toContainEqual({ volunteer: v.id, credit: 3, results: 3 });
    await runInDurableObject(grid(), (o: GridObject) => void o.sql.exec("UPDATE credit SET credit = 999 WHERE volunteer = ?", v.id));
    expect((await me(v)).credit).toBe(3);
    await runInDurableObject(grid(), (o: GridObject) => void o.sql.exec("UPDATE credit SET credit = 3 WHERE volunteer = ?", v.id));
  });

  it("pushes credit earned before volunteers' objects kept it, once, when the grid object upgrades", { timeout: 15_000 }, async () => {
    const old = { id: `v_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`, token: "" };
    await runInDurableObject(grid(), (o: GridObject) => {
      o.sql.exec("DROP TABLE credit_push");
      o.sql.exec("INSERT INTO credit (volunteer, credit, results) VALUES (?, 7, 7)", old.id);
    });
    await runInDurableObject(grid(), (_: GridObject, state) => state.abort("restart as the upgraded version")).catch(() => {});
    await grid().runningJobs(); // the next call builds the object again
    await until("the old credit arrives", async () => (await record(old).me(old.id)).credit === 7);
  });

  it(`pushes at most ${PUSH_BATCH} volunteers at a time, those whose credit changed first before the rest`, async () => {
    // Ids in the reverse of their order of change: an index walk would push the wrong ones first.
    const ids = Array.from({ length: PUSH_BATCH + 5 }, (_, i) => `v_fifo${String(99 - i).padStart(2, "0")}`);
    const left = await runInDurableObject(grid(), async (o: GridObject) => {
      o.sql.exec("DELETE FROM credit_push");
      ids.forEach((id, i) => {
        o.sql.exec("INSERT INTO credit (volunteer, credit, results) VALUES (?, ?, ?)", id, i + 1, i + 1);
        o.sql.exec("INSERT INTO credit_push (volunteer, version) VALUES (?, 1)", id);
      });
      // A later change to the first keeps its place in the queue.
      o.sql.exec("UPDATE credit_push SET version = 2 WHERE volunteer = ?", ids[0]);
      await o.alarm();
      return o.sql
        .exec<{ volunteer: string }>("SELECT volunteer FROM credit_push ORDER BY rowid")
        .toArray()
        .map((r) => r.volunteer);
    });
    expect(left).toEqual(ids.slice(PUSH_BATCH));
    expect((await record({ id: ids[0]!, token: "" }).me(ids[0]!)).credit).toBe(1);
    expect((await record({ id: ids[PUSH_BATCH - 1]!, token: "" }).me(ids[PUSH_BATCH - 1]!)).credit).toBe(PUSH_BATCH);
  });

  it("ignores a credit push older than the one it holds (pushes carry absolute totals)", async () => {
    const v = await volunteer();
    await record(v).credited({ credit: 5, results: 5 }, 1_000_000_000);
    await record(v).credited({ credit: 1, results: 1 }, 999_999_999);
    expect(await me(v)).toMatchObject({ credit: 5, results: 5 });
    await record(v).credited({ credit: 0, results: 0 }, 1_000_000_001);
    expect(await me(v)).toMatchObject({ credit: 0, results: 0 });
  });
});

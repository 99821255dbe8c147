import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { GridObject } from "../../coordinator/objects/grid-object.ts";
import { callJson } from "./helpers.ts";

const grid = () => env.GRID.get(env.GRID.idFromName("grid")) as unknown as DurableObjectStub<GridObject>;

describe("anonymous grid statistics", () => {
  it("never write: a stale volunteer is left out of the count without a read deleting anything", async () => {
    await runInDurableObject(grid(), (o: GridObject) => {
      o.sql.exec("INSERT OR REPLACE INTO seen (volunteer, at) VALUES ('v_stale', 0)");
    });
    const before = (await callJson("GET", "/v1/stats")).body.volunteersActive;
    await new Promise((r) => setTimeout(r, 1100)); // past the per-isolate stats cache
    const after = (await callJson("GET", "/v1/stats")).body.volunteersActive;
    expect(after).toBe(before);
    const stale = await runInDurableObject(grid(), (o: GridObject) => o.sql.exec("SELECT 1 FROM seen WHERE volunteer = 'v_stale'").toArray());
    expect(stale).toHaveLength(1);
  });
});

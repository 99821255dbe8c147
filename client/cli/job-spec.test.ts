import { describe, expect, it } from "vitest";
import { UsageError } from "./exit.ts";
import { jobSpecs } from "./job-spec.ts";

describe("jobSpecs", () => {
  it("sends --priority as the job's priority, and refuses one out of range before sending anything", () => {
    expect(jobSpecs("primes.count", { range: "0:100:10", priority: "5" })[0]).toMatchObject({ priority: 5 });
    expect(jobSpecs("primes.count", { range: "0:100:10" })[0]).not.toHaveProperty("priority");
    for (const bad of ["101", "-101", "1.5", "high"]) expect(() => jobSpecs("primes.count", { range: "0:100:10", priority: bad })).toThrow(UsageError);
  });

  it("sends --dataset with --chunk as chunkBytes, and alone with no other source", () => {
    const id = `d_${"a".repeat(32)}`;
    expect(jobSpecs("records.aggregate", { dataset: id, chunk: "1MiB" })[0]).toMatchObject({ dataset: { id, chunkBytes: 1024 * 1024 } });
    expect(() => jobSpecs("wordcount", { dataset: id, range: "0:1:1" })).toThrow(/--dataset cannot go with --range/);
  });
});

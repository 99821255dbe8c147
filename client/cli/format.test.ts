import { describe, expect, it } from "vitest";
import type { JobStatusAnswer } from "../api/index.ts";
import { formatStatus } from "./format.ts";

const job = (extra: Partial<JobStatusAnswer> = {}): JobStatusAnswer =>
  ({
    id: "j_abcdefghijkmnopq",
    kernel: "wordcount",
    state: "done",
    shards: { total: 4, done: 4, failed: 0, awaitingConfirmation: 0 },
    createdAt: 0,
    updatedAt: 1000,
    ...extra,
  }) as JobStatusAnswer;

describe("formatStatus", () => {
  it("says how the job's webhook went, and nothing of one it has not", () => {
    expect(formatStatus(job(), 2000)).not.toMatch(/webhook/);
    expect(formatStatus(job({ notify: { url: "https://x.example/h", state: "delivered", attempts: 1 } }), 2000)).toMatch(
      /^webhook {2}delivered \(1 attempt\)$/m,
    );
    expect(formatStatus(job({ notify: { url: "https://x.example/h", state: "gave_up", attempts: 8 } }), 2000)).toMatch(/^webhook {2}gave up \(8 attempts\)$/m);
  });
});

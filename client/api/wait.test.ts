import { describe, expect, it } from "vitest";
import { ColmeiaError } from "./errors.ts";
import type { JobStatusAnswer } from "./responses.ts";
import { waitForJob } from "./wait.ts";

const status = (state: JobStatusAnswer["state"], done: number): JobStatusAnswer => ({
  id: "j_1",
  kernel: "primes.count",
  state,
  shards: { total: 2, done, failed: 0 },
  createdAt: 1,
  updatedAt: 1 + done,
});

const stream = (...events: string[]) =>
  new Response(events.map((data, i) => `id: ${i + 1}\ndata: ${data}\n\n`).join(""), { headers: { "content-type": "text/event-stream" } });

describe("waitForJob", () => {
  it("skips stream events it cannot read instead of failing, and follows the ones it can", async () => {
    const statuses = [status("running", 0), status("done", 2)];
    const seen: number[] = [];
    const final = await waitForJob(
      {
        status: async () => statuses.shift()!,
        events: async () =>
          stream(
            "not json",
            JSON.stringify({ id: "j_1" }),
            JSON.stringify({ ...status("running", 1), state: "paused" }),
            JSON.stringify({ ...status("running", 1), shards: { total: "2", done: 1, failed: 0 } }),
            JSON.stringify({ ...status("running", 1), notify: { url: "https://x", state: "later", attempts: 1 } }),
            JSON.stringify({ ...status("running", 1), label: "mine", futureField: { a: 1 } }),
            JSON.stringify(status("done", 2)),
          ),
      },
      { onProgress: (s) => seen.push(s.shards.done) },
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(final).toEqual(status("done", 2));
  });

  it("reconnects after a retryable failure of the stream and gives up on any other", async () => {
    const failures = [new ColmeiaError(0, "unreachable", "cannot reach the coordinator")];
    const final = await waitForJob({
      status: async () => status(failures.length ? "running" : "done", failures.length ? 0 : 2),
      events: async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return stream(JSON.stringify(status("done", 2)));
      },
    });
    expect(final.state).toBe("done");

    const gone = new ColmeiaError(404, "job_not_found", "no such job");
    await expect(waitForJob({ status: async () => status("running", 0), events: () => Promise.reject(gone) })).rejects.toBe(gone);
  });
});

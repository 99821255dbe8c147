import type { ColmeiaClient, JobStatusAnswer } from "../api/index.ts";
import { EXIT, ExitWith } from "./exit.ts";
import { formatCount, summariseResult } from "./format.ts";
import { mergedResult } from "./merge.ts";
import { interruptSignal, printJson } from "./options.ts";
import { watchJobs } from "./progress.ts";

/** What `--watch` prints when the jobs end: the final status, a verdict and the result, or only the ids. */
export type FollowOutput = "json" | "human" | "quiet";

/**
 * `--watch`: follows jobs to their end with a progress bar, then prints the final status
 * (`json`), a verdict and the result (`human`) or the job ids alone (`quiet`, a verdict only
 * when a job did not finish). Ends with exit 3 unless every job is done, and 130 on Ctrl-C
 * (the jobs keep running).
 */
export async function follow(client: ColmeiaClient, ids: readonly string[], output: FollowOutput): Promise<void> {
  const json = output === "json";
  const interrupt = interruptSignal();
  let finals: JobStatusAnswer[];
  try {
    finals = await watchJobs(client, ids, { stream: process.stderr, lines: output === "human", signal: interrupt.signal });
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
    const which = ids.length === 1 ? `job ${ids[0]} keeps` : `jobs ${ids.join(" ")} keep`;
    process.stderr.write(`Stopped watching; ${which} running (colmeia cancel ${ids.join(" ")} stops ${ids.length === 1 ? "it" : "them"}).\n`);
    throw new ExitWith(EXIT.interrupted);
  } finally {
    interrupt.dispose();
  }

  const allDone = finals.every((s) => s.state === "done");
  if (json) {
    printJson(ids.length === 1 ? finals[0] : { jobs: finals });
  } else {
    if (output === "quiet") process.stdout.write(`${ids.join("\n")}\n`);
    for (const s of output === "quiet" && allDone ? [] : finals) {
      const { done, total, failed } = s.shards;
      const counts = `${formatCount(done)}/${formatCount(total)} shards done${failed ? `, ${formatCount(failed)} failed` : ""}`;
      process.stderr.write(`Job ${s.id} ${s.state}: ${counts}${s.error ? ` — ${s.error}` : ""}\n`);
    }
    if (allDone && output === "human") {
      const result = ids.length === 1 ? (await client.result(ids[0]!)).result : await mergedResult(client, ids);
      process.stdout.write(`${summariseResult(result, `colmeia result ${ids.join(" ")} --json`)}\n`);
    }
  }
  if (!allDone) throw new ExitWith(EXIT.jobNotDone);
}

import cliProgress from "cli-progress";
import { FINAL_STATES, type ColmeiaClient, type JobStatusAnswer } from "../api/index.ts";
import { formatCount, formatDuration, formatRate } from "./format.ts";
import { createRateMeter } from "../volunteer/rate.ts";

/** Options of {@link watchJobs}. */
export interface WatchOptions {
  /** Where progress goes (stderr, so stdout stays clean for results and `--json`). */
  stream: NodeJS.WriteStream;
  /** On a non-terminal, print a progress line now and then (human mode) instead of nothing. */
  lines: boolean;
  signal?: AbortSignal;
}

/** Done/total/failed/awaiting summed over jobs, and the state they are in together. */
function aggregate(statuses: Iterable<JobStatusAnswer>) {
  let total = 0,
    done = 0,
    failed = 0,
    awaiting = 0,
    running = false;
  for (const s of statuses) {
    total += s.shards.total;
    done += s.shards.done;
    failed += s.shards.failed;
    awaiting += s.shards.awaitingConfirmation ?? 0;
    running ||= !FINAL_STATES.has(s.state);
  }
  return { total, done, failed, awaiting, running };
}

/**
 * Follows jobs until every one has ended, showing one live bar (done/total, rate, ETA) on a
 * terminal, and resolves with their final statuses in the order given.
 */
export async function watchJobs(client: ColmeiaClient, ids: readonly string[], options: WatchOptions): Promise<JobStatusAnswer[]> {
  const { stream } = options;
  const latest = new Map<string, JobStatusAnswer>();
  // Shards per second over the last 15 s, so the rate (and the ETA made from it) follows the current speed.
  // What was done when watching started is not part of the rate: the first total is the baseline.
  const rate = createRateMeter(15_000);
  const started = Date.now();
  const tty = Boolean(stream.isTTY);
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: " {bar} {percentage}% | {value}/{total} shards{failedText} | {rateText} | ETA {etaText}",
      formatValue: (v, _o, type) => (type === "value" || type === "total" ? formatCount(v) : String(v)),
      hideCursor: true,
      barsize: 30,
      fps: 10,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let barStarted = false;
  let lastLine = { at: 0, text: "" };

  const render = () => {
    const sum = aggregate(latest.values());
    const perSecond = rate.perSecond();
    const remaining = sum.total - sum.done - sum.failed;
    const payload = {
      rateText: formatRate(perSecond),
      etaText: !sum.running ? "0s" : perSecond > 0 ? formatDuration((remaining / perSecond) * 1000) : "–",
      failedText:
        (sum.failed ? ` (${formatCount(sum.failed)} failed)` : "") +
        (sum.awaiting ? ` (${formatCount(sum.awaiting)} waiting for a second volunteer to confirm)` : ""),
    };
    if (tty) {
      if (!barStarted) bar.start(sum.total, sum.done, payload), (barStarted = true);
      else bar.setTotal(sum.total), bar.update(sum.done, payload);
    } else if (options.lines && (Date.now() - lastLine.at > 5000 || !sum.running)) {
      const pct = sum.total ? Math.floor((100 * sum.done) / sum.total) : 100;
      const text = `${formatCount(sum.done)}/${formatCount(sum.total)} shards (${pct}%)${payload.failedText}, ${payload.rateText}, ETA ${payload.etaText}`;
      if (text !== lastLine.text) stream.write(`${text}\n`);
      lastLine = { at: Date.now(), text };
    }
  };

  const onProgress = (status: JobStatusAnswer) => {
    latest.set(status.id, status);
    if (latest.size < ids.length) return;
    const { done } = aggregate(latest.values());
    rate.addTotal(done);
    render();
  };
  // Between events the rate (and ETA) still move: a stalled grid should look stalled.
  const ticker = setInterval(() => latest.size === ids.length && render(), 1000);
  try {
    const finals = await Promise.all(ids.map((id) => client.wait(id, { onProgress, signal: options.signal })));
    finals.forEach(onProgress);
    if (options.lines && !tty) stream.write(`ended after ${formatDuration(Date.now() - started)}\n`);
    return finals;
  } finally {
    clearInterval(ticker);
    if (barStarted) bar.stop();
  }
}

import cliProgress from "cli-progress";
import { formatDuration } from "./format.ts";
import { formatSize } from "./input/size.ts";
import { createRateMeter } from "../volunteer/rate.ts";

/** Bytes sent so far, as a live bar; {@link byteProgress} makes one. */
export interface ByteProgress {
  /** `sent` bytes of the whole file are on their way (absolute, may go back after a retry). */
  update(sent: number): void;
  /** Removes nothing: leaves the final bar in place and gives the terminal back. */
  stop(): void;
}

/** Bytes per second for people: `12.3 MiB/s`. */
export const formatByteRate = (perSecond: number) => (Number.isFinite(perSecond) && perSecond > 0 ? `${formatSize(Math.round(perSecond))}/s` : "–");

/**
 * A progress bar of bytes sent (percentage, bytes, rate over the last seconds, ETA) on `stream`
 * when it is a terminal and `quiet` is not set; otherwise it shows nothing.
 */
export function byteProgress(total: number, options: { stream: NodeJS.WriteStream; quiet?: boolean }): ByteProgress {
  if (options.quiet || !options.stream.isTTY) return { update() {}, stop() {} };
  // What a resumed upload had sent before is not part of the rate: the first total is the baseline.
  const rate = createRateMeter(10_000);
  const bar = new cliProgress.SingleBar(
    {
      stream: options.stream,
      format: " {bar} {percentage}% | {sentText} / {totalText} | {rateText} | ETA {etaText}",
      hideCursor: true,
      barsize: 30,
      fps: 10,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let sampledAt = 0;
  let last = 0;
  const payload = (sent: number) => {
    const perSecond = rate.perSecond();
    return {
      sentText: formatSize(sent),
      totalText: formatSize(total),
      rateText: formatByteRate(perSecond),
      etaText: sent >= total ? "0s" : perSecond > 0 ? formatDuration(((total - sent) / perSecond) * 1000) : "–",
    };
  };
  bar.start(total, 0, payload(0));
  // Between reads the rate (and ETA) still move: a stalled upload should look stalled.
  const ticker = setInterval(() => bar.update(last, payload(last)), 1000);
  return {
    update(sent) {
      last = sent;
      // Sampled at most 10 times a second: bodies are read in 64 KiB pieces.
      if (Date.now() - sampledAt >= 100 || sent >= total) {
        rate.addTotal(sent);
        sampledAt = Date.now();
      }
      bar.update(sent, payload(sent));
    },
    stop() {
      clearInterval(ticker);
      bar.stop();
    },
  };
}

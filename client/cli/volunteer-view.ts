import { clearLine, cursorTo } from "node:readline";
import type { VolunteerEvent, VolunteerStatus } from "../volunteer/index.ts";
import { formatCount, formatDuration, formatRate } from "./format.ts";

/** One line about what the volunteer is doing now. */
export function statusLine(s: VolunteerStatus, perSecond: number, now = Date.now()): string {
  const activity =
    s.connection === "offline"
      ? `coordinator unreachable, retrying${s.retryAt ? ` in ${formatDuration(s.retryAt - now)}` : ""}`
      : s.state !== "running"
        ? "stopping"
        : s.running.length
          ? `${s.running.length}/${s.threads} threads busy`
          : s.waitingForWork
            ? "waiting for work"
            : "fetching work";
  return `${formatCount(s.accepted)} accepted · ${formatCount(s.computed)} computed · ${formatRate(perSecond)} · ${activity}`;
}

/**
 * Shows a volunteer's progress on `stream`: a line rewritten in place on a terminal, otherwise
 * a line every `everyMs` while something changes. Notable events get lines of their own.
 */
export function createVolunteerView(stream: NodeJS.WriteStream, everyMs = 10_000) {
  const tty = Boolean(stream.isTTY);
  let live = "";
  let lastPrinted = "";
  let lastAt = 0;
  const wipe = () => {
    if (tty && live) clearLine(stream, 0), cursorTo(stream, 0), (live = "");
  };
  return {
    /** Redraws (terminal) or, now and then, logs (other) the status line. */
    update(s: VolunteerStatus, perSecond: number) {
      const line = statusLine(s, perSecond);
      if (tty) {
        wipe();
        stream.write(line.slice(0, (stream.columns || 100) - 1));
        live = line;
      } else if (line !== lastPrinted && Date.now() - lastAt >= everyMs) {
        stream.write(`${line}\n`);
        lastPrinted = line;
        lastAt = Date.now();
      }
    },
    /** Prints a message on a line of its own (above the live line). */
    note(message: string) {
      wipe();
      stream.write(`${message}\n`);
    },
    /** Leaves the live line behind as a finished line. */
    close() {
      if (tty && live) stream.write("\n"), (live = "");
    },
  };
}

/** The events worth a line of their own, as text; others give undefined. */
export function describeEvent(event: VolunteerEvent): string | undefined {
  if (event.type === "kernel-error") return `shard ${event.lease.shardId} of job ${event.lease.jobId} failed: ${event.message}`;
  if (event.type === "rejected") return `result for lease ${event.leaseId} refused (${event.status}): ${event.message}`;
  return undefined;
}

/**
 * Reads a Chromium trace (devtools.timeline) for the kernel Web Workers' busy spells: each
 * worker thread's top-level tasks, merged where they touch, so a shard's compute is one spell
 * and the gaps between spells are the time that thread sat idle.
 */

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: { name?: string; data?: { url?: string } };
}

/** One worker thread's busy spells, in ms on the trace clock. */
export interface WorkerActivity {
  thread: string;
  spells: { start: number; end: number }[];
}

/** Spells shorter than this are message handling, not a shard. */
const MIN_SPELL_MS = 2;

/** The kernel workers' (DedicatedWorker threads') spells of at least MIN_SPELL_MS. */
export function workerActivity(trace: { traceEvents: TraceEvent[] } | TraceEvent[]): WorkerActivity[] {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const names = new Map<string, string>();
  for (const e of events) if (e.ph === "M" && e.name === "thread_name") names.set(`${e.pid}:${e.tid}`, e.args?.name ?? "");
  const byThread = new Map<string, { start: number; end: number }[]>();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== "X" || e.name !== "RunTask" || !names.get(key)?.startsWith("DedicatedWorker")) continue;
    const list = byThread.get(key) ?? [];
    list.push({ start: e.ts / 1000, end: (e.ts + (e.dur ?? 0)) / 1000 });
    byThread.set(key, list);
  }
  return [...byThread].map(([key, tasks]) => {
    tasks.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const t of tasks) {
      const last = merged.at(-1);
      if (last && t.start <= last.end + 0.05) last.end = Math.max(last.end, t.end);
      else merged.push({ ...t });
    }
    return { thread: key, spells: merged.filter((s) => s.end - s.start >= MIN_SPELL_MS) };
  });
}

/** Per thread: busy ms, idle ms between its first and last spell, and the longest gap. */
export function idleBetweenShards(activity: WorkerActivity[]) {
  return activity
    .filter((a) => a.spells.length > 0)
    .map(({ thread, spells }) => {
      const busy = spells.reduce((s, x) => s + (x.end - x.start), 0);
      const span = spells.at(-1)!.end - spells[0]!.start;
      const gaps = spells.slice(1).map((s, i) => s.start - spells[i]!.end);
      return { thread, busyMs: busy, idleMs: span - busy, maxGapMs: Math.max(0, ...gaps), first: spells[0]!.start, last: spells.at(-1)!.end };
    });
}

/**
 * When (trace clock, ms) the page first did `event` for a URL ending in `suffix`:
 * `ResourceSendRequest` (an HTTP request sent) or `WebSocketCreate` (a socket opened).
 */
export function firstEvent(
  trace: { traceEvents: TraceEvent[] } | TraceEvent[],
  event: "ResourceSendRequest" | "WebSocketCreate",
  suffix: string,
): number | undefined {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const at = events.filter((e) => e.name === event && e.args?.data?.url?.endsWith(suffix)).map((e) => e.ts / 1000);
  return at.length ? Math.min(...at) : undefined;
}

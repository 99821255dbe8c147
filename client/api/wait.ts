import { ColmeiaError } from "./errors.ts";
import { isJobStatus } from "./guards.ts";
import { FINAL_STATES, type JobStatusAnswer } from "./responses.ts";
import { readSse } from "./sse.ts";
import type { Answer } from "./transport.ts";

/** Options of {@link waitForJob}. */
export interface WaitOptions {
  /** Called with the job status now and on every change (from the events stream). */
  onProgress?: (status: JobStatusAnswer) => void;
  /** Stops waiting (the job itself keeps running). */
  signal?: AbortSignal;
  /** Poll interval, in ms, used when the events stream is unavailable (default 1000). */
  pollMs?: number;
}

/** The two calls waiting needs: the job's status and its event stream. */
export interface WaitSource {
  status(): Promise<JobStatusAnswer>;
  events(lastEventId: string | undefined, signal: AbortSignal | undefined): Promise<Answer>;
}

const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/**
 * Resolves with the job's final status (`done`, `failed` or `cancelled`; it does not throw for
 * those). Follows the Server-Sent Events stream, reconnecting with `Last-Event-ID`, and falls
 * back to polling when the stream is unavailable.
 */
export async function waitForJob(source: WaitSource, options: WaitOptions = {}): Promise<JobStatusAnswer> {
  const { onProgress, signal } = options;
  let last = await source.status();
  onProgress?.(last);
  if (FINAL_STATES.has(last.state)) return last;

  let lastEventId: string | undefined;
  let failures = 0;
  while (failures < 5) {
    signal?.throwIfAborted();
    try {
      const res = await source.events(lastEventId, signal);
      if (!res.ok || !(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
        // No stream here (an older coordinator, a proxy): poll instead. Polling's status call
        // reports a vanished job or a revoked token as the error it is.
        await res.body?.cancel();
        break;
      }
      for await (const event of readSse(res.body)) {
        lastEventId = event.id ?? lastEventId;
        // An event this client cannot read (another coordinator version, a proxy's garbage) is skipped.
        const status = safeJson(event.data);
        if (!isJobStatus(status)) continue;
        failures = 0;
        last = status;
        onProgress?.(last);
        // The final answer is fetched once more so callers get exactly what `GET /v1/jobs/:id` says.
        if (FINAL_STATES.has(last.state)) return await source.status();
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // A network failure (or a busy coordinator) is worth reconnecting for; anything else is the caller's.
      if (error instanceof ColmeiaError && !error.retryable) throw error;
    }
    // The stream ended (or dropped) before the job did: reconnect, a little later each time.
    failures++;
    await delay(Math.min(250 * 2 ** failures, 5000), signal);
  }

  for (;;) {
    await delay(options.pollMs ?? 1000, signal);
    const next = await source.status();
    if (next.updatedAt !== last.updatedAt || next.state !== last.state || next.shards.done !== last.shards.done) {
      last = next;
      onProgress?.(last);
    }
    if (FINAL_STATES.has(last.state)) return last;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

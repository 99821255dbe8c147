import type { SSEStreamingApi } from "hono/streaming";
import { LIMITS } from "../../shared/limits.ts";

/** One Server-Sent Event; `data` is written as one `data:` line per line of it. */
export interface SseMessage {
  id: string;
  event: string;
  data: string;
}

/** How long a client waits before reconnecting after a stream ended (the SSE `retry:` field). */
const RETRY_MS = 2000;

/**
 * A Server-Sent Events stream on Hono's streaming API with the bounds every stream here keeps:
 * it ends cleanly `maxMs` after it opened (EventSource then reconnects with Last-Event-ID), and a
 * reader more than `LIMITS.streamQueueEvents` events behind is dropped instead of buffered
 * without limit. Writes are never awaited, so a stalled reader cannot stall the writer; the
 * queue it builds is counted before every write.
 *
 * @example
 * const sse = new BoundedSse(stream, LIMITS.streamMaxMs, () => open--);
 * sse.send({ id: "7", event: "status", data: JSON.stringify(status) });
 */
export class BoundedSse {
  #over = false;
  /** Writes the reader has not taken yet: the writer's queue (`1 - writer.desiredSize`, which Hono keeps private). */
  #queued = 0;
  readonly #deadline: ReturnType<typeof setTimeout>;
  #settle!: () => void;
  /** Resolves once the stream is over: ended, dropped, or the reader went away. */
  readonly over = new Promise<void>((resolve) => (this.#settle = resolve));

  constructor(
    readonly stream: SSEStreamingApi,
    maxMs: number = LIMITS.streamMaxMs,
    private readonly onOver: () => void = () => {},
  ) {
    this.#deadline = setTimeout(() => this.end(), maxMs);
    stream.onAbort(() => this.#finish());
    this.#write(`retry: ${RETRY_MS}\n\n`);
  }

  /** Whether events may still be sent. */
  get open(): boolean {
    return !this.#over;
  }

  /** Queues one event; false when the stream is over (or this write found the reader too far behind). */
  send(message: SseMessage): boolean {
    const data = message.data
      .split(/\r\n|\r|\n/)
      .map((line) => `data: ${line}`)
      .join("\n");
    return this.#write(`id: ${message.id}\nevent: ${message.event}\n${data}\n\n`);
  }

  /** Queues a comment line (a keep-alive ping or a note), under the same bound as events. */
  comment(text: string): boolean {
    return this.#write(`: ${text}\n\n`);
  }

  /** Ends the stream cleanly once what is queued has gone out. */
  end(): void {
    if (this.#over) return;
    this.#finish();
    void this.stream.close();
  }

  /** Drops the reader at once, discarding its queue (it reconnects and resumes from its last id). */
  drop(): void {
    if (this.#over) return;
    this.#finish();
    this.stream.abort();
  }

  #write(text: string): boolean {
    if (this.#over) return false;
    if (this.#queued >= LIMITS.streamQueueEvents) {
      this.drop();
      return false;
    }
    // StreamingApi.write hands the bytes to the writer synchronously, so writes stay in order; its
    // promise settles once the reader took them (or the stream failed), never with an error.
    this.#queued++;
    void this.stream.write(text).then(() => this.#queued--);
    return true;
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#deadline);
    this.onOver();
    this.#settle();
  }
}

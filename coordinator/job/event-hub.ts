import { SSEStreamingApi } from "hono/streaming";
import { LIMITS } from "../../shared/limits.ts";
import type { JobStatus } from "../../shared/schemas.ts";
import { errorBody } from "../errors.ts";
import { BoundedSse } from "../net/bounded-sse.ts";

/** Progress events closer together than this are coalesced (state changes are never delayed). */
const MIN_GAP_MS = 250;
const PING_MS = 15_000;
/** What a client refused for too many streams is told to wait, in seconds. */
const RETRY_AFTER_S = 10;

/** Bounds of one hub; the defaults are the published limits. */
export interface EventHubBounds {
  maxStreams?: number;
  maxMs?: number;
}

/**
 * Server-Sent Events for one job. Every event is the whole job status with the status version as
 * its id, so a client that reconnects with Last-Event-ID gets the current status at once if it
 * changed meanwhile and misses nothing; the stream ends after the final state. At most
 * `LIMITS.streamsPerJob` streams at once (429 beyond), each ending after `LIMITS.streamMaxMs`,
 * and a reader that falls behind is dropped (see {@link BoundedSse}).
 */
export class EventHub {
  readonly #streams = new Set<BoundedSse>();
  readonly #maxStreams: number;
  readonly #maxMs: number;
  #lastSent = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #ping: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly current: () => { status: JobStatus; version: number },
    bounds: EventHubBounds = {},
  ) {
    this.#maxStreams = bounds.maxStreams ?? LIMITS.streamsPerJob;
    this.#maxMs = bounds.maxMs ?? LIMITS.streamMaxMs;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream; sends the current status first unless the client already has this version. */
  open(lastEventId: string | undefined): Response {
    if (this.#streams.size >= this.#maxStreams) {
      const message = `at most ${this.#maxStreams} event streams of one job at once; retry later or poll GET /v1/jobs/:id`;
      return Response.json(errorBody("too_many_streams", message), { status: 429, headers: { "retry-after": String(RETRY_AFTER_S) } });
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const stream = new SSEStreamingApi(writable, readable);
    const sse: BoundedSse = new BoundedSse(stream, this.#maxMs, () => this.#forget(sse));
    this.#streams.add(sse);
    const { status, version } = this.current();
    const known = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : -1;
    if (known !== version) this.#send(sse, status, version);
    if (status.state !== "running") sse.end();
    if (this.#streams.size) this.#ping ??= setInterval(() => this.#streams.forEach((s) => s.comment("ping")), PING_MS);
    return new Response(stream.responseReadable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" },
    });
  }

  /** Call after the status may have changed; state changes go out at once, progress coalesced. */
  changed(stateChanged: boolean): void {
    if (!this.#streams.size) return;
    const wait = this.#lastSent + MIN_GAP_MS - Date.now();
    // On the next turn, so a change made mid-batch goes out with the whole batch applied.
    if (stateChanged || wait <= 0) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#flush(), 0);
      return;
    }
    this.#timer ??= setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#lastSent = Date.now();
    const { status, version } = this.current();
    for (const sse of this.#streams) {
      this.#send(sse, status, version);
      if (status.state !== "running") sse.end();
    }
  }

  #send(sse: BoundedSse, status: JobStatus, version: number): void {
    sse.send({ id: String(version), event: "status", data: JSON.stringify(status) });
  }

  #forget(sse: BoundedSse): void {
    this.#streams.delete(sse);
    if (!this.#streams.size) {
      if (this.#ping !== null) clearInterval(this.#ping);
      this.#ping = null;
    }
  }
}

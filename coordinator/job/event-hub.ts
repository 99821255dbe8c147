import type { JobStatus } from "../../shared/schemas.ts";

/** Progress events closer together than this are coalesced (state changes are never delayed). */
const MIN_GAP_MS = 250;
const PING_MS = 15_000;

const encoder = new TextEncoder();

/**
 * Server-Sent Events for one job. Every event is the whole job status with the status version as
 * its id, so a client that reconnects with Last-Event-ID gets the current status at once if it
 * changed meanwhile and misses nothing; the stream ends after the final state.
 */
export class EventHub {
  readonly #streams = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  #lastSent = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ping: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly current: () => { status: JobStatus; version: number }) {}

  /** Opens a stream; sends the current status first unless the client already has this version. */
  open(lastEventId: string | undefined): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.#streams.add(writer);
    const { status, version } = this.current();
    const known = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : -1;
    void writer.write(encoder.encode("retry: 2000\n\n"));
    if (known !== version) this.#send(writer, status, version);
    if (status.state !== "running") this.#close(writer);
    this.#ping ??= setInterval(() => this.#broadcastRaw(": ping\n\n"), PING_MS);
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" },
    });
  }

  /** Call after the status may have changed; state changes go out at once, progress coalesced. */
  changed(stateChanged: boolean): void {
    if (!this.#streams.size) return;
    const wait = this.#lastSent + MIN_GAP_MS - Date.now();
    // On the next turn, so a change made mid-batch goes out with the whole batch applied.
    if (stateChanged || wait <= 0) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#flush(), 0);
      return;
    }
    this.#timer ??= setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastSent = Date.now();
    const { status, version } = this.current();
    for (const w of this.#streams) {
      this.#send(w, status, version);
      if (status.state !== "running") this.#close(w);
    }
  }

  #send(w: WritableStreamDefaultWriter<Uint8Array>, status: JobStatus, version: number): void {
    w.write(encoder.encode(`id: ${version}\nevent: status\ndata: ${JSON.stringify(status)}\n\n`)).catch(() => this.#drop(w));
  }

  #broadcastRaw(text: string): void {
    for (const w of this.#streams) w.write(encoder.encode(text)).catch(() => this.#drop(w));
  }

  #close(w: WritableStreamDefaultWriter<Uint8Array>): void {
    w.close().catch(() => {});
    this.#drop(w);
  }

  #drop(w: WritableStreamDefaultWriter<Uint8Array>): void {
    this.#streams.delete(w);
    if (!this.#streams.size) {
      clearInterval(this.#ping);
      this.#ping = undefined;
    }
  }
}

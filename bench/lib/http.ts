/**
 * A minimal JSON-over-HTTP client for the simulated volunteers, with keep-alive connection reuse.
 *
 * Two transports: `http` (default) is node:http with a keep-alive Agent; `fetch` is Node's built-in
 * fetch (undici, also keep-alive). Both are plain HTTP/1.1 to 127.0.0.1. The default matters
 * because the load generator shares the CPU with the server: measured here, fetch costs about
 * 0.55 ms of client CPU per request against about 0.14 ms for node:http, CPU the server then lacks.
 */
import { Agent, request } from "node:http";

export type Transport = "http" | "fetch";

export interface Reply<T = unknown> {
  /** HTTP status, or 0 when the request failed below HTTP (connection error, abort). */
  status: number;
  body: T | undefined;
  /** Response header lookup (lower-case names). */
  header(name: string): string | undefined;
  /** Wall time from just before sending to the end of the response body. */
  ms: number;
  /** performance.now() when the reply was complete. */
  end: number;
  error?: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
}

interface Raw {
  status: number;
  text: string;
  header(name: string): string | undefined;
}

const noHeader = () => undefined;

export class JsonClient {
  readonly baseUrl: string;
  readonly transport: Transport;
  readonly #url: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

  constructor(baseUrl: string, transport: Transport = "http") {
    this.baseUrl = baseUrl;
    this.transport = transport;
    this.#url = new URL(baseUrl);
    if (this.#url.hostname !== "127.0.0.1" && this.#url.hostname !== "localhost") {
      throw new Error(`benchmark traffic must stay local, not ${this.#url.hostname}`);
    }
  }

  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (payload !== undefined) headers["content-type"] = "application/json";
    const start = performance.now();
    let raw: Raw;
    try {
      raw = await (this.transport === "fetch" ? this.#fetch : this.#http)(method, path, headers, payload, opts.signal);
    } catch (err) {
      const end = performance.now();
      const e = err as Error & { code?: string; cause?: { code?: string } };
      return { status: 0, body: undefined, header: noHeader, ms: end - start, end, error: e.cause?.code ?? e.code ?? e.name ?? String(err) };
    }
    const end = performance.now();
    const reply = { status: raw.status, header: raw.header, ms: end - start, end };
    try {
      return { ...reply, body: raw.text ? (JSON.parse(raw.text) as T) : undefined };
    } catch {
      return { ...reply, body: undefined, error: `non-JSON body: ${raw.text.slice(0, 120)}` };
    }
  }

  /** Like call(), but throws unless the status is `expect` (for setup steps, not measured traffic). */
  async must<T = unknown>(expect: number, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const r = await this.call<T>(method, path, opts);
    if (r.status !== expect) {
      throw new Error(`${method} ${path}: expected ${expect}, got ${r.status} ${r.error ?? JSON.stringify(r.body)}`);
    }
    return r.body as T;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#agent.destroy();
  }

  #http = (method: string, path: string, headers: Record<string, string>, payload: string | undefined, signal?: AbortSignal, again = false): Promise<Raw> =>
    new Promise<Raw>((resolve, reject) => {
      if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
      const req = request({ host: this.#url.hostname, port: this.#url.port, path, method, headers, agent: this.#agent, signal }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text, header: (n) => res.headers[n] as string | undefined }));
        res.on("error", reject);
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        // The server closed this kept-alive connection as it was reused (workerd closes one idle
        // for 15 s): it never read the request, which goes again, once, on a fresh connection.
        if (req.reusedSocket && err.code === "ECONNRESET" && !again) resolve(this.#http(method, path, headers, payload, signal, true));
        else reject(err);
      });
      req.end(payload);
    });

  #fetch = async (method: string, path: string, headers: Record<string, string>, payload: string | undefined, signal?: AbortSignal) => {
    const res = await fetch(this.baseUrl + path, { method, headers, body: payload, signal });
    const text = await res.text();
    return { status: res.status, text, header: (n: string) => res.headers.get(n) ?? undefined };
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<I, O>(items: I[], limit: number, fn: (item: I, i: number) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A sleep that ends early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A minimal JSON client over Node's built-in fetch. Its global dispatcher (undici) keeps
 * connections alive and pools them per origin without a connection cap, so every simulated
 * volunteer reuses sockets instead of paying a TCP handshake per request.
 */

export interface Reply<T = unknown> {
  /** HTTP status, or 0 when the request failed below HTTP (connection error, abort). */
  status: number;
  body: T | undefined;
  headers: Headers | undefined;
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

export class JsonClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    const host = new URL(baseUrl).hostname;
    if (host !== "127.0.0.1" && host !== "localhost") throw new Error(`benchmark traffic must stay local, not ${host}`);
  }

  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const start = performance.now();
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
      const text = await res.text();
      const end = performance.now();
      let body: T | undefined;
      try {
        body = text ? (JSON.parse(text) as T) : undefined;
      } catch {
        return { status: res.status, body: undefined, headers: res.headers, ms: end - start, end, error: `non-JSON body: ${text.slice(0, 120)}` };
      }
      return { status: res.status, body, headers: res.headers, ms: end - start, end };
    } catch (err) {
      const end = performance.now();
      return { status: 0, body: undefined, headers: undefined, ms: end - start, end, error: String((err as Error)?.cause ?? err) };
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

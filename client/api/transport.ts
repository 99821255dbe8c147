import type { z } from "zod";
import { ErrorBody } from "../../shared/schemas.ts";
import { ColmeiaError } from "./errors.ts";

/** How the client talks HTTP: which fetch to use and how long to honour `retry-after`. */
export interface TransportOptions {
  /** The fetch to call (defaults to the global one). */
  fetch?: typeof fetch;
  /** Times a `429`/`503` answer is retried after its `retry-after` (default 5). */
  retries?: number;
  /** Longest single wait, in ms, a `retry-after` may impose before giving up (default 30000). */
  maxRetryWaitMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** Milliseconds a `retry-after` header asks for (seconds or an HTTP date); 1 s when absent. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (!header) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now);
}

/**
 * A fetch that retries answers the contract marks as "nothing changed, try later" (429, and 503
 * with `retry-after`), and turns network failures into a {@link ColmeiaError} with status 0.
 */
export function transportFetch(options: TransportOptions = {}): typeof fetch {
  const send = transportSend(options);
  return (input, init) => send(input, () => init);
}

/**
 * {@link transportFetch} for a request whose init (its body) is made afresh for each attempt:
 * a streamed body is read once, so a retry needs a new one.
 */
export function transportSend(options: TransportOptions = {}) {
  const base = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 5;
  const maxWait = options.maxRetryWaitMs ?? 30_000;
  return async (input: RequestInfo | URL, makeInit: () => RequestInit | undefined): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const init = makeInit();
      let res: Response;
      try {
        res = await base(input, init);
      } catch (error) {
        if (init?.signal?.aborted) throw error;
        throw unreachable(input, error);
      }
      const retryable = res.status === 429 || (res.status === 503 && res.headers.has("retry-after"));
      if (!retryable || attempt >= retries) return res;
      const wait = retryAfterMs(res.headers.get("retry-after"));
      if (wait > maxWait) return res;
      await res.body?.cancel();
      await sleep(wait, init?.signal);
    }
  };
}

function unreachable(input: RequestInfo | URL, error: unknown): ColmeiaError {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
  return new ColmeiaError(0, "unreachable", `cannot reach the coordinator at ${url.origin} (${cause})`);
}

/** What the client reads of an HTTP answer (Hono's typed `ClientResponse` and `Response` both fit). */
export type Answer = Pick<Response, "ok" | "status" | "statusText" | "url" | "headers" | "text" | "body">;

/**
 * The body of a successful answer, checked against `schema` and returned exactly as sent, or a {@link ColmeiaError} carrying the
 * contract's `{"error": {code, message}}` for any other status.
 */
export async function readJson<S extends z.ZodType>(res: Answer, schema: S): Promise<z.output<S>> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) throw errorFrom(res, body);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const where = res.url ? ` from ${new URL(res.url).origin}` : "";
    throw new ColmeiaError(res.status, "bad_response", `unexpected answer${where} (is it a Colmeia coordinator?)`);
  }
  // The schemas here only check (no defaults, no transforms), so the body as sent *is* their
  // output; handing it back untouched keeps nested extra fields and key order, which `--json` prints.
  return body as z.output<S>;
}

/** Checks an answer that carries no body of interest (e.g. a `202`); throws like {@link readJson}. */
export async function expectOk(res: Answer): Promise<void> {
  if (res.ok) return void (await res.body?.cancel());
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {}
  throw errorFrom(res, body);
}

function errorFrom(res: Answer, body: unknown): ColmeiaError {
  const error = ErrorBody.safeParse(body);
  if (error.success) return new ColmeiaError(res.status, error.data.error.code, error.data.error.message);
  const where = res.url ? ` from ${new URL(res.url).origin}` : "";
  return new ColmeiaError(res.status, "http_error", `HTTP ${res.status}${where} ${res.statusText}`.trim());
}

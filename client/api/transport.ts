import { answerError, ColmeiaError } from "./errors.ts";
import { isErrorBody, isObject } from "./guards.ts";

/** How the client talks HTTP: which fetch to use and how long to honour `retry-after`. */
export interface TransportOptions {
  /** The fetch to call (defaults to the global one). */
  fetch?: typeof fetch;
  /** Times a `429`/`503` answer is retried after its `retry-after` (default 5). */
  retries?: number;
  /** Longest single wait, in ms, a `retry-after` may impose before giving up (default 30000). */
  maxRetryWaitMs?: number;
  /**
   * Time limit in ms of each attempt, for a call made without its own `signal` (default none). A
   * call that runs out of it fails like an unreachable coordinator (status 0, retryable).
   */
  timeoutMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** Milliseconds a `retry-after` header asks for (seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header?.trim()) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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
  const limited = (init: RequestInit | undefined) =>
    options.timeoutMs === undefined || init?.signal ? init : { ...init, signal: AbortSignal.timeout(options.timeoutMs) };
  return async (input: RequestInfo | URL, makeInit: () => RequestInit | undefined): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const init = makeInit();
      let res: Response;
      try {
        res = await base(input, limited(init));
      } catch (error) {
        if (init?.signal?.aborted) throw error;
        throw unreachable(input, error);
      }
      const retryable = res.status === 429 || (res.status === 503 && res.headers.has("retry-after"));
      if (!retryable || attempt >= retries) return res;
      const wait = parseRetryAfter(res.headers.get("retry-after")) ?? 1000;
      if (wait > maxWait) return res;
      await res.body?.cancel();
      await sleep(wait, init?.signal);
    }
  };
}

/** The error of a call that got no HTTP answer (network down, time limit, a body that broke off). */
export function unreachable(input: RequestInfo | URL, error: unknown): ColmeiaError {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
  return new ColmeiaError(0, "unreachable", `cannot reach the coordinator at ${url.origin} (${cause})`);
}

/** What the client reads of an HTTP answer (Hono's typed `ClientResponse` and `Response` both fit). */
export type Answer = Pick<Response, "ok" | "status" | "statusText" | "url" | "headers" | "text" | "body">;

/**
 * The body of a successful answer, exactly as sent, typed as the contract says it is (`T`), or a
 * {@link ColmeiaError} carrying the contract's `{"error": {code, message}}` for any other status.
 * The body must be a JSON object, or pass the guard given as `shape` (for answers whose fields the
 * client relies on), unless `shape` is `"any"` (an answer whose body is of no interest); otherwise
 * it is a `bad_response`;
 * a status in `accept` answers like a success unless its body is the contract's error (a failing
 * health check's `503` carries the checks);
 * its fields are not checked at run time (the types come from the schemas the coordinator answers
 * with), so no schema library is bundled with the client.
 */
export async function readJson<T>(res: Answer, shape: "object" | "any" | ((body: unknown) => boolean) = "object", accept: readonly number[] = []): Promise<T> {
  const body = parseBody(await res.text());
  if (!res.ok && !(accept.includes(res.status) && !isErrorBody(body))) throw errorFrom(res, body);
  const fits = shape === "any" || (shape === "object" ? isObject : shape)(body);
  if (!fits) {
    throw new ColmeiaError(res.status, "bad_response", `unexpected answer${from(res)} (is it a Colmeia coordinator?)`);
  }
  return body as T;
}

/** Checks an answer that carries no body of interest (e.g. a `202`); throws like {@link readJson}. */
export async function expectOk(res: Answer): Promise<void> {
  if (res.ok) return void (await res.body?.cancel());
  throw errorFrom(res, parseBody(await res.text()));
}

function parseBody(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

const from = (res: Answer) => (res.url ? ` from ${new URL(res.url).origin}` : "");

function errorFrom(res: Answer, body: unknown): ColmeiaError {
  return answerError(res.status, body, `HTTP ${res.status}${from(res)} ${res.statusText}`.trim(), parseRetryAfter(res.headers.get("retry-after")));
}

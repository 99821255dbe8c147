import { ColmeiaError } from "../api/errors.ts";
import { FINAL_STATES, type JobStatusAnswer } from "../api/responses.ts";
import { createClient, type ColmeiaClient } from "../api/submitter.ts";

export interface JobsFeedHandlers {
  /** The submitter's jobs, newest first, whenever any of them changed. */
  onJobs(jobs: JobStatusAnswer[]): void;
  /** The token was refused (401): the feed has stopped. */
  onUnauthorized(error: ColmeiaError): void;
  /** A list call failed for another reason (the feed keeps trying); `undefined` once it works again. */
  onTrouble(error: Error | undefined): void;
}

export interface JobsFeedOptions {
  /** How often the job list is fetched, to see new jobs and jobs nobody streams (ms). */
  pollMs?: number;
  /**
   * Running jobs followed through their event streams at once. Each stream holds a connection,
   * and browsers allow only six per origin over HTTP/1.1 (wrangler dev), one of them the stats stream.
   */
  maxStreams?: number;
  /** The coordinator's origin (default: this page's). */
  url?: string;
}

/** Keeps the newer of two views of one job; on a tie the incoming one (it may carry a new notify state). */
function fresher(current: JobStatusAnswer | undefined, incoming: JobStatusAnswer): JobStatusAnswer {
  return current && current.updatedAt > incoming.updatedAt ? current : incoming;
}

/**
 * Follows one submitter's jobs live: polls `GET /v1/jobs` and follows the newest running jobs
 * through `GET /v1/jobs/:id/events` (fetch + a stream reader, since EventSource cannot send the
 * Authorization header; the typed client's `wait` does this, resuming with Last-Event-ID).
 * @param initial a list already fetched (e.g. to check the token), shown at once.
 */
export function followJobs(token: string, handlers: JobsFeedHandlers, options: JobsFeedOptions = {}, initial?: JobStatusAnswer[]) {
  const client: ColmeiaClient = createClient({ url: options.url ?? location.origin, token });
  const pollMs = options.pollMs ?? 3000;
  const maxStreams = options.maxStreams ?? 3;
  const stop = new AbortController();
  const jobs = new Map<string, JobStatusAnswer>();
  const streams = new Map<string, AbortController>();
  let order: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const publish = () => handlers.onJobs(order.map((id) => jobs.get(id)!));

  const update = (job: JobStatusAnswer) => {
    if (stop.signal.aborted) return; // a late event after "forget token" must not repaint the list
    const next = fresher(jobs.get(job.id), job);
    if (next === jobs.get(job.id)) return;
    jobs.set(job.id, next);
    if (!order.includes(job.id)) order = [job.id, ...order];
    publish();
  };

  const stream = (id: string) => {
    const ctl = new AbortController();
    streams.set(id, ctl);
    client
      .wait(id, { signal: ctl.signal, onProgress: update })
      .then(update, () => {}) // a dropped stream is picked up again by the next poll
      .finally(() => streams.delete(id));
  };

  const absorb = (list: JobStatusAnswer[]) => {
    if (stop.signal.aborted) return;
    for (const job of list) jobs.set(job.id, fresher(jobs.get(job.id), job));
    const listed = new Set(list.map((j) => j.id));
    // Newest first, as the list comes; jobs beyond the first page keep their place at the end.
    order = [...list.map((j) => j.id), ...order.filter((id) => !listed.has(id))];
    const running = order.filter((id) => !FINAL_STATES.has(jobs.get(id)!.state));
    for (const id of running.slice(0, maxStreams)) if (!streams.has(id) && streams.size < maxStreams) stream(id);
    publish();
  };

  const poll = async () => {
    if (stop.signal.aborted) return;
    try {
      if (!document.hidden) {
        absorb((await client.list()).jobs);
        handlers.onTrouble(undefined);
      }
    } catch (error) {
      if (stop.signal.aborted) return;
      if (error instanceof ColmeiaError && error.status === 401) {
        halt();
        return handlers.onUnauthorized(error);
      }
      handlers.onTrouble(error instanceof Error ? error : new Error(String(error)));
    }
    timer = setTimeout(poll, pollMs);
  };

  const onVisible = () => {
    if (document.hidden) return;
    clearTimeout(timer);
    void poll();
  };
  const halt = () => {
    stop.abort();
    for (const ctl of streams.values()) ctl.abort();
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };

  document.addEventListener("visibilitychange", onVisible);
  if (initial) {
    absorb(initial);
    timer = setTimeout(poll, pollMs);
  } else {
    void poll();
  }
  return { stop: halt };
}

/** Checks a token by listing its jobs: the jobs, or the error (a 401 for an unknown token). */
export async function listJobs(token: string, url = location.origin): Promise<JobStatusAnswer[]> {
  return (await createClient({ url, token }).list()).jobs;
}

import type { JobStatusAnswer } from "../api/responses.ts";
import { add, make, setText } from "./dom.ts";
import { count, duration, perSecond, share, when } from "./format.ts";
import { createResultToggle, type LoadResult } from "./job-result.ts";

/** The parts of one job's list item that change. */
interface JobRow {
  item: HTMLLIElement;
  name: HTMLElement;
  badge: HTMLElement;
  meta: HTMLElement;
  bar: HTMLProgressElement;
  done: HTMLElement;
  total: HTMLElement;
  percent: HTMLElement;
  extra: HTMLElement;
  note: HTMLElement;
  result: ReturnType<typeof createResultToggle>;
}

const NOTIFY_TEXT = { pending: "webhook pending", delivered: "webhook delivered", gave_up: "webhook gave up" } as const;

function createRow(job: JobStatusAnswer, loadResult: LoadResult | undefined): JobRow {
  const item = make("li", "job");
  item.dataset.id = job.id;
  item.dataset.testid = "job";
  const head = make("div", "job-head");
  const name = make("h3", "job-name");
  const badge = make("span", "badge");
  badge.dataset.testid = "job-state";
  add(head, name, badge);

  const meta = make("p", "job-meta");
  const bar = make("progress", "bar");
  bar.dataset.testid = "job-progress";
  const figures = make("p", "job-figures");
  const done = make("span", "figure", "0");
  done.dataset.testid = "job-done";
  const total = make("span", "", "0");
  total.dataset.testid = "job-total";
  const percent = make("span", "percent");
  const extra = make("span", "extra");
  add(figures, done, " / ", total, " shards ", percent, extra);
  const note = make("p", "job-note");
  const result = createResultToggle(item, loadResult);
  add(item, head, meta, bar, figures, note, ...result.nodes);
  return { item, name, badge, meta, bar, done, total, percent, extra, note, result };
}

function fill(row: JobRow, job: JobStatusAnswer): void {
  const { total, done, failed } = job.shards;
  const title = job.label || job.id;
  row.item.dataset.state = job.state;
  setText(row.name, title);
  setText(row.badge, job.state);
  const started = `started ${when(job.createdAt)}`;
  const ended = job.state === "running" ? "" : ` · ${job.state} after ${duration(job.updatedAt - job.createdAt)}`;
  setText(row.meta, `${job.label ? `${job.id} · ` : ""}${job.kernel} · ${started}${ended}`);

  row.bar.max = Math.max(1, total);
  row.bar.value = total > 0 ? done : 1;
  row.bar.setAttribute("aria-label", `Progress of ${title}`);
  row.bar.setAttribute("aria-valuetext", `${count(done)} of ${count(total)} shards (${share(done, total)})`);
  setText(row.done, count(done));
  setText(row.total, count(total));
  setText(row.percent, `(${share(done, total)})`);

  const extras = [
    failed > 0 ? `${count(failed)} failed` : "",
    job.shards.awaitingConfirmation ? `${count(job.shards.awaitingConfirmation)} waiting for a second volunteer to confirm` : "",
    job.state === "running" && job.rate ? `${perSecond(job.rate)} shards/s` : "",
    job.notify ? `${NOTIFY_TEXT[job.notify.state]}${job.notify.attempts > 1 ? ` (${job.notify.attempts} attempts)` : ""}` : "",
  ].filter(Boolean);
  setText(row.extra, extras.length ? ` · ${extras.join(" · ")}` : "");
  setText(row.note, job.error ?? "");
  row.note.hidden = !job.error;
  row.result.update(job);
}

/**
 * Binds the job list; `render` updates rows in place (keyed by id), so focus and scroll survive.
 * With `loadResult`, done `records.aggregate` jobs offer their result as a table.
 */
export function createJobsView(list: HTMLElement, empty: HTMLElement, summary: HTMLElement, loadResult?: LoadResult) {
  const rows = new Map<string, JobRow>();

  return {
    render(jobs: JobStatusAnswer[]): void {
      const seen = new Set<string>();
      let previous: Element | null = null;
      for (const job of jobs) {
        seen.add(job.id);
        let row = rows.get(job.id);
        if (!row) rows.set(job.id, (row = createRow(job, loadResult)));
        fill(row, job);
        const wanted: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
        if (wanted !== row.item) list.insertBefore(row.item, wanted);
        previous = row.item;
      }
      for (const [id, row] of rows) if (!seen.has(id)) row.item.remove(), rows.delete(id);
      empty.hidden = jobs.length > 0;
      const running = jobs.filter((j) => j.state === "running").length;
      setText(summary, jobs.length ? `${count(jobs.length)} job${jobs.length === 1 ? "" : "s"}, ${count(running)} running` : "");
    },

    clear(): void {
      rows.clear();
      list.replaceChildren();
      setText(summary, "");
    },
  };
}

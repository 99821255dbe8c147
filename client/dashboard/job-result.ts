import type { JobStatusAnswer } from "../api/responses.ts";
import { add, make, setText } from "./dom.ts";
import { isRecordsResult } from "./records-data.ts";
import { createRecordsTable } from "./records-table.ts";

/** Fetches a done job's merged result (`GET /v1/jobs/:id/result`'s `result`). */
export type LoadResult = (id: string) => Promise<unknown>;

/** Kernels whose result the dashboard can show as a table. */
const TABLE_KERNELS = new Set(["records.aggregate"]);

/**
 * The "Show result" control of one job card and the area it opens: shown once a
 * `records.aggregate` job is done; the result is fetched the first time it is opened, then kept.
 * An open card spans the whole row of the job grid (`.job[data-open]`), so the table has room.
 */
export function createResultToggle(item: HTMLElement, load: LoadResult | undefined) {
  const actions = make("div", "job-actions");
  const button = make("button", "quiet", "Show result");
  button.type = "button";
  button.dataset.testid = "job-result-toggle";
  button.setAttribute("aria-expanded", "false");
  const area = make("div", "job-result");
  area.id = `result-${item.dataset.id}`;
  area.hidden = true;
  button.setAttribute("aria-controls", area.id);
  add(actions, button);
  actions.hidden = true;

  let shown: HTMLElement | undefined;
  let loading = false;

  const open = (on: boolean) => {
    area.hidden = !on;
    button.setAttribute("aria-expanded", String(on));
    setText(button, on ? "Hide result" : "Show result");
    if (on) item.dataset.open = "";
    else delete item.dataset.open;
  };

  const fetchTable = async (id: string) => {
    if (shown || loading || !load) return;
    loading = true;
    const status = make("p", "help", "Loading the result…");
    status.setAttribute("role", "status");
    area.replaceChildren(status);
    try {
      const result = await load(id);
      if (!isRecordsResult(result)) return setText(status, "This result is not a records table.");
      shown = createRecordsTable(result, id);
      area.replaceChildren(shown);
    } catch (error) {
      setText(status, `Could not load the result (${error instanceof Error ? error.message : String(error)}). Close and open to try again.`);
    } finally {
      loading = false;
    }
  };

  button.addEventListener("click", () => {
    const on = area.hidden === true;
    open(on);
    if (on) void fetchTable(item.dataset.id!);
  });

  return {
    /** The nodes to place at the end of the card. */
    nodes: [actions, area] as const,
    /** Shows the control only for a done job of a kernel with a table result. */
    update(job: JobStatusAnswer): void {
      const available = Boolean(load) && job.state === "done" && TABLE_KERNELS.has(job.kernel);
      actions.hidden = !available;
      if (available) return;
      if (!area.hidden) open(false);
      shown = undefined; // reopened (a backtrack): the next result may differ
    },
  };
}

import { add, make, setText } from "./dom.ts";
import { count } from "./format.ts";
import { recordsTable, sortRows, toCsv, type Cell, type RecordsResult } from "./records-data.ts";

const figure = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
type Direction = "ascending" | "descending";

/** Hands the browser a file to save, from text made here (no round trip to the coordinator). */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = make("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A `records.aggregate` result as a table: records read and skipped above it, one column per part
 * of the group key and per metric, sorted by clicking a header (again to reverse), and a
 * "Download CSV" button that saves the rows in the order shown.
 */
export function createRecordsTable(result: RecordsResult, jobId: string): HTMLElement {
  const table = recordsTable(result);
  let rows = table.rows;
  let sorted: { column: number; direction: Direction } = { column: 0, direction: "ascending" };

  const box = make("div", "records");
  box.dataset.testid = "records";
  const head = make("div", "records-head");
  const summary = make("p", "records-summary");
  summary.dataset.testid = "records-summary";
  const groups = Object.keys(result.groups).length;
  setText(summary, `${count(result.records)} records read · ${count(result.skipped)} skipped · ${count(groups)} group${groups === 1 ? "" : "s"}`);
  const save = make("button", "quiet", "Download CSV");
  save.type = "button";
  save.dataset.testid = "records-csv";
  save.addEventListener("click", () => download(`${jobId}.csv`, toCsv({ columns: table.columns, rows })));
  add(head, summary, save);

  const scroller = make("div", "records-scroll");
  const grid = make("table", "records-table");
  const caption = make("caption", "visually-hidden", `Result of job ${jobId}; select a column header to sort by it`);
  const headRow = make("tr");
  const body = make("tbody");
  const headers = table.columns.map((column, i) => {
    const th = make("th");
    th.scope = "col";
    if (column.kind === "metric") th.className = "num";
    const button = make("button", "sort", column.label);
    button.type = "button";
    button.addEventListener("click", () => {
      const direction: Direction = sorted.column === i && sorted.direction === "ascending" ? "descending" : "ascending";
      sorted = { column: i, direction };
      rows = sortRows(table.rows, i, direction);
      paint();
    });
    add(th, button);
    return th;
  });
  add(headRow, ...headers);
  const thead = make("thead");
  add(thead, headRow);
  add(grid, caption, thead, body);
  add(scroller, grid);

  const cell = (value: Cell, metric: boolean) => {
    const td = make("td", metric ? "num" : "", metric ? (typeof value === "number" ? figure.format(value) : "") : String(value ?? ""));
    if (!metric && value === "") (td.textContent = "(all records)"), (td.className = "muted");
    return td;
  };
  const paint = () => {
    headers.forEach((th, i) => {
      if (i === sorted.column) th.setAttribute("aria-sort", sorted.direction);
      else th.removeAttribute("aria-sort");
    });
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = make("tr");
        add(tr, ...row.map((value, i) => cell(value, table.columns[i]!.kind === "metric")));
        return tr;
      }),
    );
  };
  paint();

  const empty = make("p", "empty", "No group: no record matched.");
  empty.hidden = rows.length > 0;
  scroller.hidden = rows.length === 0;
  add(box, head, empty, scroller);
  return box;
}

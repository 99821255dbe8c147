import { DurableObject } from "cloudflare:workers";
import { LATENCY_BOUNDS, mergeSeries, type HttpSeries } from "../observe/http-metrics.ts";

/** Series kept at most; a new one past that is folded into route "(other)" of its method and code. */
const MAX_SERIES = 5000;
const BOUNDS = JSON.stringify(LATENCY_BOUNDS);

type Row = { route: string; method: string; code: number; bounds: string; buckets: string; sum: number; count: number };

/**
 * Request counts and latency histograms of the whole Worker, per route pattern, method and
 * status code. Isolates record requests in memory and send them here in batches every few
 * seconds (observe/http-metrics.ts), never per request; `GET /metrics` reads them. Totals live
 * in SQLite, so they survive restarts and deploys as Prometheus counters should.
 */
export class MetricsObject extends DurableObject<Env> {
  readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS http (route TEXT NOT NULL, method TEXT NOT NULL, code INTEGER NOT NULL,
      bounds TEXT NOT NULL, buckets TEXT NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (route, method, code))`);
  }

  #get(s: Pick<HttpSeries, "route" | "method" | "code">): HttpSeries | undefined {
    const row = this.sql.exec<Row>("SELECT * FROM http WHERE route = ? AND method = ? AND code = ?", s.route, s.method, s.code).toArray()[0];
    // A row counted with other bucket bounds starts over: Prometheus reads that as a counter reset.
    if (!row || row.bounds !== BOUNDS) return undefined;
    return { route: row.route, method: row.method, code: row.code, buckets: JSON.parse(row.buckets) as number[], sum: row.sum, count: row.count };
  }

  /** Adds one isolate's batch (one atomic step). */
  async add(batch: HttpSeries[]): Promise<void> {
    let rows = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM http").one().n;
    for (const s of batch) {
      let current = this.#get(s);
      if (!current && rows >= MAX_SERIES) {
        s.route = "(other)";
        current = this.#get(s);
      }
      if (!current) rows++;
      const total: HttpSeries = current ?? { ...s, buckets: [], sum: 0, count: 0 };
      mergeSeries(total, s);
      this.sql.exec(
        "INSERT OR REPLACE INTO http (route, method, code, bounds, buckets, sum, count) VALUES (?, ?, ?, ?, ?, ?, ?)",
        total.route,
        total.method,
        total.code,
        BOUNDS,
        JSON.stringify(total.buckets),
        total.sum,
        total.count,
      );
    }
  }

  /** Every series, ordered for a stable exposition. */
  async snapshot(): Promise<HttpSeries[]> {
    const all = this.sql.exec<Row>("SELECT * FROM http WHERE bounds = ? ORDER BY route, method, code", BOUNDS).toArray();
    return all.map((r) => ({ route: r.route, method: r.method, code: r.code, buckets: JSON.parse(r.buckets) as number[], sum: r.sum, count: r.count }));
  }

  /** For the deep health check: this object's storage and how many series it holds. */
  async health(): Promise<{ bytes: number; series: number }> {
    return { bytes: this.sql.databaseSize, series: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM http").one().n };
  }
}

/** The states a shard and a replica (one lease of a shard) go through, as stored. */
export const SHARD = { open: 0, accepted: 1, failed: 2 } as const;
export const REPLICA = { leased: 0, submitted: 1, expired: 2, released: 3, rejected: 4, superseded: 5 } as const;

/** SQLite layout of one job's Durable Object. Shard rows exist only once a shard was first leased. */
export const JOB_TABLES = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (idx INTEGER PRIMARY KEY, input TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quoted (pos INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS shards (
  idx INTEGER PRIMARY KEY,
  state INTEGER NOT NULL DEFAULT 0,      -- 0 open, 1 accepted, 2 failed
  deficit INTEGER NOT NULL,              -- replicas still to issue
  active INTEGER NOT NULL DEFAULT 0,     -- leases out now
  accepted_hash TEXT,
  accept_seq INTEGER,
  need INTEGER,                          -- agreeing outputs needed (NULL: the job's quorum)
  verified INTEGER NOT NULL DEFAULT 0,   -- 1: a ringer source (checked by the coordinator, or confirmed by trusted volunteers)
  rounds INTEGER NOT NULL DEFAULT 0,     -- voting rounds discarded for want of quorum
  error TEXT,                            -- why a failed shard failed
  hold_until INTEGER                     -- a stranger's uncheckable result: only trusted volunteers confirm it before then
);
CREATE INDEX IF NOT EXISTS shards_verified ON shards(idx) WHERE verified = 1;
CREATE INDEX IF NOT EXISTS shards_open ON shards(idx) WHERE state = ${SHARD.open};
CREATE INDEX IF NOT EXISTS shards_wanting ON shards(idx) WHERE state = ${SHARD.open} AND deficit > 0;
CREATE INDEX IF NOT EXISTS shards_accepted ON shards(accept_seq) WHERE accept_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS replicas (
  lease TEXT PRIMARY KEY,
  idx INTEGER NOT NULL,
  volunteer TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,      -- 0 leased, 1 submitted, 2 expired, 3 released, 4 rejected, 5 superseded
  expires_at INTEGER NOT NULL,
  deadline INTEGER,                      -- heartbeats never extend the lease past this
  standing INTEGER NOT NULL DEFAULT 0,   -- at submission: 0 untrusted, 1 trusted on other work, 2 trusted on this class of work
  ringer INTEGER NOT NULL DEFAULT 0,     -- 1: a spot-check of an already verified shard
  hash TEXT,
  output TEXT,
  at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS replicas_held ON replicas(idx, volunteer) WHERE state <= ${REPLICA.submitted};
CREATE INDEX IF NOT EXISTS replicas_shard ON replicas(idx, state);
CREATE INDEX IF NOT EXISTS replicas_expiry ON replicas(expires_at) WHERE state = ${REPLICA.leased};
CREATE INDEX IF NOT EXISTS replicas_returned ON replicas(expires_at) WHERE state IN (${REPLICA.expired}, ${REPLICA.released});
CREATE INDEX IF NOT EXISTS replicas_volunteer ON replicas(volunteer, state);
CREATE TABLE IF NOT EXISTS banned (volunteer TEXT PRIMARY KEY);
-- Grid statistics not yet acknowledged by the grid: 'pending' (still counting) and 'inflight' (being sent).
CREATE TABLE IF NOT EXISTS stats_outbox (k TEXT PRIMARY KEY, delta TEXT NOT NULL);
-- Their credit, one row per volunteer and batch, so a change writes one row, not the whole map.
CREATE TABLE IF NOT EXISTS stats_credit (k TEXT NOT NULL, volunteer TEXT NOT NULL, credit REAL NOT NULL, PRIMARY KEY (k, volunteer));
-- Reputation observations not yet taken by the volunteers' records (sent from the alarm).
CREATE TABLE IF NOT EXISTS rep_outbox (k TEXT PRIMARY KEY, volunteer TEXT NOT NULL, obs TEXT NOT NULL);
-- Volunteers caught here whose blacklisting is not yet acknowledged by their own record (retried from the alarm).
CREATE TABLE IF NOT EXISTS catches (volunteer TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contrib (volunteer TEXT PRIMARY KEY, results INTEGER NOT NULL, credit REAL NOT NULL,
  reported INTEGER NOT NULL DEFAULT 0);  -- 1: the volunteer's own record lists this job
CREATE INDEX IF NOT EXISTS contrib_unreported ON contrib(volunteer) WHERE reported = 0;
CREATE TABLE IF NOT EXISTS blobs (name TEXT NOT NULL, part INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (name, part));
`;

/**
 * A bound as SQL text, for a `LIMIT` written into a hot statement: SQLite runs `LIMIT ?` several
 * times slower than the same limit written out (in workerd: a lease's bounded counts 25 against
 * 5.5 µs, `wanting` 33 against 17 µs). A whole number from the code, never from a request.
 */
export function bound(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a bound: ${n}`);
  return String(n);
}

/** Columns added after the first release: [table, column, declaration]. */
const ADDED_COLUMNS = [
  ["shards", "rounds", "INTEGER NOT NULL DEFAULT 0"],
  ["shards", "error", "TEXT"],
  ["shards", "hold_until", "INTEGER"],
  ["replicas", "standing", "INTEGER NOT NULL DEFAULT 0"],
  ["replicas", "deadline", "INTEGER"],
] as const;

/** Brings a job's tables created by an older version up to date (idempotent). */
export function migrate(sql: SqlStorage): void {
  for (const [table, column, decl] of ADDED_COLUMNS) {
    const has = sql
      .exec<{ name: string }>(`PRAGMA table_info(${table})`)
      .toArray()
      .some((c) => c.name === column);
    if (!has) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
  }
}

/** SQLite values are at most 2 MB; 512 Ki UTF-16 units is at most 1.5 MB of UTF-8. */
const PART = 512 * 1024;

/** Stores a string of any length as numbered parts. */
export function writeBlob(sql: SqlStorage, name: string, text: string): void {
  sql.exec("DELETE FROM blobs WHERE name = ?", name);
  let part = 0;
  for (let i = 0; i < text.length || part === 0; part++) {
    let end = Math.min(i + PART, text.length);
    // Never split a surrogate pair: a lone half would not survive SQLite's UTF-8.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    sql.exec("INSERT INTO blobs (name, part, data) VALUES (?, ?, ?)", name, part, text.slice(i, end));
    i = end;
  }
}

/** Reads back what writeBlob stored, or undefined. */
export function readBlob(sql: SqlStorage, name: string): string | undefined {
  const parts = sql.exec<{ data: string }>("SELECT data FROM blobs WHERE name = ? ORDER BY part", name).toArray();
  return parts.length ? parts.map((p) => p.data).join("") : undefined;
}

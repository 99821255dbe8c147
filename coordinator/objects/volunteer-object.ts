import { DurableObject } from "cloudflare:workers";
import { gatewayStub } from "../gateway/gateways.ts";
import { describeError, log } from "../observe/log.ts";
import { jobStub } from "../stubs.ts";

/** Validated results (quorum agreement or passed ringers) before a volunteer may be trusted alone. */
export const TRUST_AFTER = 5;
/** Ringers it must have passed as well: agreement alone can be manufactured by colluders. */
export const TRUST_RINGERS = 1;
/**
 * Work the coordinator cannot recompute (published kernels, big shards) is trusted separately and
 * more slowly: its ringers come from volunteers' agreement, not from the coordinator's own answer,
 * so trust earned on checkable work never vouches for it by itself.
 */
export const TRUST_AFTER_UNCHECKABLE = 20;
export const TRUST_RINGERS_UNCHECKABLE = 2;

/** Whether a volunteer may be trusted alone, per class of work. */
export interface Standing {
  /** On work the coordinator can check itself. */
  trusted: boolean;
  /** On work it cannot (published kernels, shards too big to recompute). */
  trustedUncheckable: boolean;
}

export interface Profile extends Standing {
  id: string;
  /** Registered with one of the operator's VOLUNTEER_KEYS: trusted on both classes of work unless blacklisted. */
  vouched: boolean;
  blacklisted: boolean;
  validated: number;
  ringersPassed: number;
  uncheckable: { validated: number; ringersPassed: number };
  reason?: string;
}

/** Credit a volunteer earned grid-wide: one per accepted result, taken back when it is caught. */
export type Credit = { credit: number; results: number };

/** What one job observed about a volunteer since its last report, for one class of work. */
export interface Observation {
  /** The observations concern uncheckable work. */
  uncheckable?: boolean;
  agreed?: number;
  ringersPassed?: number;
  /** It agreed with an output later proven wrong: its agreement is worth nothing. */
  penalized?: boolean;
  /** Its output lost a vote: no proof, but its validated record in this class starts over. */
  outvoted?: number;
}

/** The one row of a volunteer's record (`rep`). */
type RepRow = {
  id: string;
  validated: number;
  ringers: number;
  validated_u: number;
  ringers_u: number;
  vouched: number;
  blacklisted: number;
  reason: string | null;
};

/** A volunteer's profile as its record's row says. */
function profileOf(id: string, r: RepRow): Profile {
  const blacklisted = r.blacklisted === 1;
  const vouched = r.vouched === 1;
  return {
    id,
    trusted: !blacklisted && (vouched || (r.validated >= TRUST_AFTER && r.ringers >= TRUST_RINGERS)),
    trustedUncheckable: !blacklisted && (vouched || (r.validated_u >= TRUST_AFTER_UNCHECKABLE && r.ringers_u >= TRUST_RINGERS_UNCHECKABLE)),
    vouched,
    blacklisted,
    validated: r.validated,
    ringersPassed: r.ringers,
    uncheckable: { validated: r.validated_u, ringersPassed: r.ringers_u },
    ...(r.reason && { reason: r.reason }),
  };
}

/** After a failed call telling the gateway of a change of standing, it is tried again this much later. */
const RETELL_MS = 2_000;

/**
 * One volunteer's reputation: what it has proven (agreement with accepted results, passed
 * ringers), whether it is trusted alone, and the jobs its outputs were accepted in, so that
 * once it is caught every one of those results can be found and recomputed (backtracking).
 */
export class VolunteerObject extends DurableObject<Env> {
  readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS rep (k INTEGER PRIMARY KEY CHECK (k = 0), id TEXT NOT NULL, validated INTEGER NOT NULL,
        ringers INTEGER NOT NULL, blacklisted INTEGER NOT NULL, reason TEXT);
      CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS credit (k INTEGER PRIMARY KEY CHECK (k = 0), credit REAL NOT NULL, results INTEGER NOT NULL, version INTEGER NOT NULL);
    `);
    const columns = this.sql
      .exec<{ name: string }>("PRAGMA table_info(rep)")
      .toArray()
      .map((c) => c.name);
    if (!columns.includes("validated_u")) {
      this.sql.exec("ALTER TABLE rep ADD COLUMN validated_u INTEGER NOT NULL DEFAULT 0; ALTER TABLE rep ADD COLUMN ringers_u INTEGER NOT NULL DEFAULT 0");
    }
    if (!columns.includes("vouched")) this.sql.exec("ALTER TABLE rep ADD COLUMN vouched INTEGER NOT NULL DEFAULT 0");
  }

  #row(id: string): RepRow {
    const row = this.sql.exec<RepRow>("SELECT * FROM rep").toArray()[0];
    if (row) return row;
    this.sql.exec("INSERT INTO rep (k, id, validated, ringers, blacklisted) VALUES (0, ?, 0, 0, 0)", id);
    return { id, validated: 0, ringers: 0, validated_u: 0, ringers_u: 0, vouched: 0, blacklisted: 0, reason: null };
  }

  async profile(id: string): Promise<Profile> {
    return this.#profile(id);
  }

  #profile(id: string): Profile {
    return profileOf(id, this.#row(id));
  }

  /** `GET /v1/volunteers/me`: credit and standing, answered here so the grid object never sees these reads. */
  async me(id: string): Promise<Credit & Profile> {
    const credit = this.sql.exec<Credit>("SELECT credit, results FROM credit").toArray()[0] ?? { credit: 0, results: 0 };
    return { ...credit, ...this.#profile(id) };
  }

  /** What a gateway acts on of a profile (see trust.ts), from `row` (read now when not given): trusted per class, blacklisted. */
  #standing(id: string, row = this.#row(id)): string {
    const p = profileOf(id, row);
    return `${p.trusted}|${p.trustedUncheckable}|${p.blacklisted}`;
  }

  /**
   * Tells the volunteer's gateway when a write changed its standing (`before`), so the profile it
   * keeps is dropped at once instead of when it would have expired (minutes, see trust.ts). The
   * write is committed first (outgoing calls wait for it). Should the call fail, an alarm tells
   * the gateway again (stored, so it survives the object's eviction), and the runtime retries
   * that alarm while it fails.
   */
  async #tellGateway(id: string, before: string): Promise<void> {
    if (this.#standing(id) === before) return;
    try {
      await gatewayStub(this.env, id).standingChanged(id);
    } catch (err) {
      log("warn", "telling a gateway a volunteer's standing changed failed; an alarm tries again", { volunteerId: id, ...describeError(err) });
      await this.ctx.storage.setAlarm(Date.now() + RETELL_MS);
    }
  }

  /** Tells the gateway again after a failed call (#tellGateway); a throw has the runtime run this alarm again, later. */
  override async alarm(): Promise<void> {
    const id = this.sql.exec<{ id: string }>("SELECT id FROM rep").toArray()[0]?.id;
    if (id) await gatewayStub(this.env, id).standingChanged(id);
  }

  /**
   * The grid's running total of this volunteer's credit (absolute, so a repeated push is
   * harmless); `version` orders pushes, an older one is ignored. Applied when blacklisted too:
   * that is how credit taken back arrives.
   */
  async credited(totals: Credit, version: number): Promise<void> {
    this.sql.exec(
      `INSERT INTO credit (k, credit, results, version) VALUES (0, ?, ?, ?)
       ON CONFLICT(k) DO UPDATE SET credit = excluded.credit, results = excluded.results, version = excluded.version WHERE excluded.version > version`,
      totals.credit,
      totals.results,
      version,
    );
  }

  /**
   * Marks the volunteer as vouched for by the operator (registered with a VOLUNTEER_KEYS key):
   * trusted on both classes of work from the start. Being caught still blacklists it.
   */
  async vouch(id: string): Promise<void> {
    const before = this.#standing(id);
    this.sql.exec("UPDATE rep SET vouched = 1");
    await this.#tellGateway(id, before);
  }

  async observe(id: string, o: Observation): Promise<void> {
    const r = this.#row(id);
    if (r.blacklisted) return;
    const before = this.#standing(id, r);
    const [v, g] = o.uncheckable ? ["validated_u", "ringers_u"] : ["validated", "ringers"];
    if (o.penalized) this.sql.exec("UPDATE rep SET validated = 0, ringers = 0, validated_u = 0, ringers_u = 0");
    else if (o.outvoted) this.sql.exec(`UPDATE rep SET ${v} = 0, ${g} = ${g} + ?`, o.ringersPassed ?? 0);
    else this.sql.exec(`UPDATE rep SET ${v} = ${v} + ?, ${g} = ${g} + ?`, o.agreed ?? 0, o.ringersPassed ?? 0);
    await this.#tellGateway(id, before);
  }

  /** Records that an output of this volunteer was accepted in `jobId`. */
  async contributed(id: string, jobId: string): Promise<void> {
    const r = this.#row(id);
    this.sql.exec("INSERT OR IGNORE INTO jobs (id) VALUES (?)", jobId);
    // Accepted somewhere after being caught (a stale cache elsewhere let it in): undo that too.
    if (r.blacklisted) await jobStub(this.env, jobId).backtrack(id);
  }

  /**
   * Blacklists the volunteer (proven wrong: a failed ringer or a coordinator check) and has every
   * job it contributed to recompute the results accepted on its word. Idempotent: `fresh` only
   * for the call that blacklisted it (that caller counts it in the grid's figures).
   */
  async blacklist(id: string, reason: string): Promise<{ jobs: number; fresh: boolean }> {
    const r = this.#row(id);
    const before = this.#standing(id, r);
    if (!r.blacklisted) this.sql.exec("UPDATE rep SET blacklisted = 1, reason = ?", reason);
    const jobs = this.sql
      .exec<{ id: string }>("SELECT id FROM jobs")
      .toArray()
      .map((j) => j.id);
    await Promise.all([this.#tellGateway(id, before), ...jobs.map((j) => jobStub(this.env, j).backtrack(id))]);
    return { jobs: jobs.length, fresh: !r.blacklisted };
  }
}

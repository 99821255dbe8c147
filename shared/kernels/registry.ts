import { z } from "zod";
import { PRIMES_MAX_SPAN } from "./primes.ts";
import { mergeCounts, type WordcountOutput } from "./wordcount.ts";
import { compute } from "./compute.ts";
import { MAX_GROUPS, emptyRecords, mergeRecords, recordsOutputProblem, type RecordsOutput, type RecordsParams } from "./records.ts";

/** Largest integer range end `primes.count` accepts (2^53). */
export const MAX_RANGE_END = 2 ** 53;

/**
 * A kernel as the coordinator sees it: schemas for what goes in and out, the pure compute,
 * and an associative reduce that merges shard outputs into the job's result.
 */
export interface Kernel {
  name: string;
  description: string;
  params: z.ZodType;
  input: z.ZodType;
  output: z.ZodType;
  /** Whether `range` jobs may feed it `{start, end}` inputs. */
  acceptsRange: boolean;
  /** Whether the coordinator may compute this input itself to check volunteers (cheap enough). */
  checkable(input: unknown): boolean;
  compute(input: unknown, params: unknown): unknown;
  /** Merged result of no shards. */
  identity(): unknown;
  /** Folds one accepted shard output into the accumulator (may mutate and return `acc`). */
  reduce(acc: unknown, next: unknown): unknown;
  /**
   * For kernels whose merge depends on the job's params: the reduce to use instead of `reduce`
   * for a job with these (validated) params.
   */
  reduceWith?(params: unknown): (acc: unknown, next: unknown) => unknown;
  /**
   * For kernels whose output shape depends on the job's params: why an output that fits `output`
   * still cannot be merged for these params (a 400 naming it), or undefined.
   */
  outputProblem?(output: unknown, params: unknown): string | undefined;
}

const wholeNumber = z
  .number()
  .refine(Number.isInteger, "must be an integer")
  .refine((n) => n >= 0 && n <= MAX_RANGE_END, `must be between 0 and 2^53`);

const primesInput = z
  .strictObject({ start: wholeNumber, end: wholeNumber })
  .refine((r) => r.start <= r.end, { message: "start must not exceed end", path: ["end"] })
  .refine((r) => r.end - r.start <= PRIMES_MAX_SPAN, {
    message: `a shard may span at most ${PRIMES_MAX_SPAN} numbers`,
    path: ["end"],
  });

const count = z.number().refine(Number.isSafeInteger, "must be an integer").min(0);

const primesCount: Kernel = {
  name: "primes.count",
  description: "Counts primes p with start <= p < end; merged result is the sum.",
  params: z.strictObject({}),
  input: primesInput,
  output: z.strictObject({ count }),
  acceptsRange: true,
  // A short span below 10^13 sieves in milliseconds with at most 3.2 MB of base primes.
  checkable: (input) => {
    const { start, end } = input as { start: number; end: number };
    return end - start <= 5_000_000 && end <= 1e13;
  },
  compute: compute["primes.count"]!,
  identity: () => ({ count: 0 }),
  reduce: (acc, next) => ({ count: (acc as { count: number }).count + (next as { count: number }).count }),
};

const wordcount: Kernel = {
  name: "wordcount",
  description: "Counts words (maximal runs of letters and digits, lower-cased); merged result sums per word.",
  params: z.strictObject({}),
  input: z.strictObject({ text: z.string() }),
  output: z.strictObject({
    // Lower-casing can add combining marks ("İ" → "i̇"), so a key may hold \p{M} as well.
    counts: z.record(z.string().regex(/^[\p{L}\p{N}\p{M}]+$/u, "must be a word"), count.min(1)),
  }),
  acceptsRange: false,
  checkable: (input) => (input as { text: string }).text.length <= 1_000_000,
  compute: compute.wordcount!,
  identity: () => ({ counts: {} }),
  reduce: (acc, next) => mergeCounts(acc as WordcountOutput, next as WordcountOutput),
};

const fieldName = z.string({ error: "must be a field name (a string)" }).min(1, "must not be empty").max(100, "must be at most 100 characters");
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);
const METRIC_NAMES = "metric names must be 1 to 100 characters and not __proto__, constructor or prototype";
const metricName = fieldName.refine((name) => !RESERVED.has(name), METRIC_NAMES);
const isObject = (v: unknown): v is object => typeof v === "object" && v !== null && !Array.isArray(v);
const metric = z.union(
  [z.strictObject({ count: z.literal(true) }), z.strictObject({ sum: fieldName }), z.strictObject({ min: fieldName }), z.strictObject({ max: fieldName })],
  { error: 'must be {"count": true}, {"sum": field}, {"min": field} or {"max": field} (field: 1 to 100 characters)' },
);

/** Params of `records.aggregate`, per the contract. */
export const RecordsParamsSchema = z.strictObject({
  format: z.enum(["jsonl", "csv"], { error: 'must be "jsonl" or "csv"' }),
  groupBy: z.array(fieldName, { error: "must be an array of field names" }).max(8, "must name at most 8 fields").default([]),
  // z.record drops a `__proto__` key without a word, so it is looked for in what was sent.
  metrics: z.preprocess(
    (m, ctx) => {
      if (isObject(m) && Object.hasOwn(m, "__proto__")) ctx.addIssue({ code: "custom", message: METRIC_NAMES, input: m });
      return m;
    },
    z
      .record(metricName, metric, {
        error: (issue) => (issue.code === "invalid_key" ? METRIC_NAMES : 'must be an object of named metrics, e.g. {"orders": {"count": true}}'),
      })
      .refine((m) => Object.keys(m).length >= 1, "must name at least one metric")
      .refine((m) => Object.keys(m).length <= 32, "must name at most 32 metrics"),
  ),
  where: z
    .record(fieldName, z.union([z.string(), z.number(), z.boolean(), z.null()], { error: "must be a string, number, boolean or null" }), {
      error: (issue) => (issue.code === "invalid_key" ? "field names must be 1 to 100 characters" : "must be an object of field: value"),
    })
    .optional(),
}) satisfies z.ZodType<RecordsParams, unknown>;

const isNumberRecord = (v: unknown): boolean => isObject(v) && Object.values(v).every((x) => typeof x === "number" && Number.isFinite(x));

// Checked in place rather than with z.record, which rebuilds the object by assignment and so
// would turn a `__proto__` group into the copy's prototype.
const recordGroups = z
  .custom<RecordsOutput["groups"]>(
    (v) => isObject(v) && Object.keys(v).length <= MAX_GROUPS && Object.values(v).every(isNumberRecord),
    `must map at most ${MAX_GROUPS} group keys, each to an object of finite numbers`,
  )
  .meta({ type: "object", additionalProperties: { type: "object", additionalProperties: { type: "number" } } });

const recordsAggregate: Kernel = {
  name: "records.aggregate",
  description: "Group-by count, sum, min and max over JSON Lines or CSV records; merged per group by sums, mins and maxes.",
  params: RecordsParamsSchema,
  input: z.looseObject({ text: z.string(), header: z.string().optional() }),
  output: z.strictObject({ groups: recordGroups, records: count, skipped: count }),
  acceptsRange: false,
  checkable: (input) => {
    const { text } = input as { text?: unknown };
    return typeof text === "string" && text.length <= 4_000_000;
  },
  compute: compute["records.aggregate"]!,
  identity: emptyRecords,
  reduce: () => {
    throw new Error("records.aggregate merges by its params: fold with reduceWith(params), not reduce");
  },
  reduceWith: (params) => mergeRecords(params as RecordsParams) as (acc: unknown, next: unknown) => unknown,
  outputProblem: (output, params) => recordsOutputProblem(output as RecordsOutput, params as RecordsParams),
};

/** Every kernel this deployment runs, by name. */
export const kernels: ReadonlyMap<string, Kernel> = new Map([primesCount, wordcount, recordsAggregate].map((k) => [k.name, k]));

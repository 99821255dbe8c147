import { z } from "zod";
import { PRIMES_MAX_SPAN } from "./primes.ts";
import { mergeCounts, type WordcountOutput } from "./wordcount.ts";
import { compute } from "./compute.ts";

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

/** Every kernel this deployment runs, by name. */
export const kernels: ReadonlyMap<string, Kernel> = new Map([primesCount, wordcount].map((k) => [k.name, k]));

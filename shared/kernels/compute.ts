import { countPrimes, type PrimesInput } from "./primes.ts";
import { countWords, type WordcountInput } from "./wordcount.ts";
import { aggregateRecords, type RecordsInput, type RecordsParams } from "./records.ts";

/**
 * The compute half of every built-in kernel, keyed by kernel name: no schemas, no I/O,
 * so volunteer bundles stay small. Inputs reaching these were validated by the coordinator.
 * @example compute["primes.count"]({ start: 0, end: 100 }, {}) // { count: 25 }
 */
export const compute: Record<string, (input: unknown, params: unknown) => unknown> = {
  "primes.count": (input) => countPrimes(input as PrimesInput),
  wordcount: (input) => countWords(input as WordcountInput),
  "records.aggregate": (input, params) => aggregateRecords(input as RecordsInput, params as RecordsParams),
};

/** Names of the kernels a volunteer can run. */
export const kernelNames = Object.keys(compute);

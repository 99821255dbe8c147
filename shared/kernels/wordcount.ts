/**
 * `wordcount`: per-word counts, words being maximal runs of letters and digits, lower-cased.
 * Pure and dependency-free so it runs unchanged in Web Workers, Node worker threads and workerd.
 */
export interface WordcountInput {
  text: string;
}
export interface WordcountOutput {
  counts: Record<string, number>;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Counts the words of one text. */
export function countWords({ text }: WordcountInput): WordcountOutput {
  const counts = new Map<string, number>();
  for (const match of text.matchAll(WORD)) {
    const word = match[0].toLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return { counts: Object.fromEntries(counts) };
}

/** Adds `next`'s counts into `acc` (mutating and returning it). */
export function mergeCounts(acc: WordcountOutput, next: WordcountOutput): WordcountOutput {
  for (const [word, n] of Object.entries(next.counts)) {
    acc.counts[word] = (Object.hasOwn(acc.counts, word) ? acc.counts[word]! : 0) + n;
  }
  return acc;
}

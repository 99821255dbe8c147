import { readFileSync } from "node:fs";
import { LIMITS } from "../../../shared/limits.ts";
import { UsageError } from "../exit.ts";
import { chunkText } from "./chunk-text.ts";
import { formatSize } from "./size.ts";

/** Explicit shard inputs, with the byte length of each one's JSON (for packing into jobs). */
export interface ShardList {
  inputs: unknown[];
  sizes: number[];
  /** What they came from, for messages: "corpus.txt". */
  source: string;
}

function readInput(path: string, flag: string): Buffer {
  try {
    return readFileSync(path === "-" ? 0 : path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    throw new UsageError(`${flag} ${path}: ${why}`);
  }
}

function checked(inputs: unknown[], source: string, what: (i: number) => string, hint: string): ShardList {
  const sizes = inputs.map((input, i) => {
    const size = Buffer.byteLength(JSON.stringify(input) ?? "null");
    if (size > LIMITS.shardInputBytes) {
      throw new UsageError(`${what(i)} is ${formatSize(size)} as JSON; one shard may be at most ${formatSize(LIMITS.shardInputBytes)}${hint}`);
    }
    return size;
  });
  return { inputs, sizes, source };
}

/**
 * Shard inputs from a JSON Lines file: one JSON value per non-blank line (`-` reads stdin).
 * @example shardsFromJsonl("shards.jsonl") // line `{"start":0,"end":10}` → one shard
 */
export function shardsFromJsonl(path: string): ShardList {
  const lines = readInput(path, "--shards").toString("utf8").split(/\r?\n/);
  const inputs: unknown[] = [];
  const lineOf: number[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      inputs.push(JSON.parse(line));
      lineOf.push(i + 1);
    } catch (error) {
      throw new UsageError(`--shards ${path} line ${i + 1}: not valid JSON (${(error as Error).message})`);
    }
  });
  if (inputs.length === 0) throw new UsageError(`--shards ${path}: no shards (expected one JSON value per line)`);
  return checked(inputs, path, (i) => `--shards ${path} line ${lineOf[i]}`, "");
}

/**
 * `{"text"}` shard inputs from a UTF-8 text file cut into chunks of about `chunkBytes` at line
 * boundaries (never inside a word or a character), as `wordcount` takes them.
 */
export function shardsFromText(path: string, chunkBytes: number): ShardList {
  const bytes = readInput(path, "--file");
  if (bytes.length === 0) throw new UsageError(`--file ${path} is empty`);
  let chunks: Buffer[];
  try {
    chunks = chunkText(bytes, chunkBytes, LIMITS.shardInputBytes / 2);
  } catch (error) {
    throw new UsageError(`--file ${path}: ${(error as Error).message}`);
  }
  const inputs = chunks.map((chunk) => ({ text: chunk.toString("utf8") }));
  return checked(inputs, path, (i) => `--file ${path} chunk ${i + 1}`, "; use a smaller --chunk");
}

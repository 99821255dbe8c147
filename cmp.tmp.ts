import { readFileSync } from "node:fs";
import { countWords } from "./shared/kernels/wordcount.ts";
const direct = countWords({ text: readFileSync("/tmp/big.txt", "utf8") }).counts;
const got = JSON.parse(readFileSync("/tmp/merged.json", "utf8")).result.counts;
const keys = new Set([...Object.keys(direct), ...Object.keys(got)]);
let diff = 0; for (const k of keys) if (direct[k] !== got[k]) { diff++; if (diff < 10) console.log(JSON.stringify(k), direct[k], got[k]); }
console.log("diffs", diff, "keys", keys.size);

// Collatz chain lengths as a wasm/1 kernel, in AssemblyScript (compile: npm run build).
//
// ABI (API.md, "Kernels you bring"): the module imports nothing and exports `memory`,
// `alloc(size) -> ptr` and `compute(inPtr, inLen, paramsPtr, paramsLen) -> (outPtr << 32) | outLen`.
// Input bytes: the shard's input as UTF-8 JSON, here {"start": a, "end": b}. Output: UTF-8 JSON
// {"maxSteps": m, "totalSteps": t} over the numbers n with max(a, 1) <= n < b.
//
// The twin in ../collatz.ts computes exactly the same thing in JavaScript.

/** Largest x with 3x + 1 <= 2^53: both twins stop there, where JavaScript numbers stop being exact. */
const LIMIT: u64 = 3002399751580330;

/** Set once `compute` has answered: the next `alloc` starts a new call and may drop everything before. */
let answered = false;

/**
 * Host-side allocation, from the stub runtime's bump allocator. It never frees, so the first
 * `alloc` after a `compute` resets the heap: a host that reuses the instance for many shards
 * never runs out of the module's (capped) memory.
 */
export function alloc(size: i32): i32 {
  if (answered) {
    heap.reset();
    answered = false;
  }
  return <i32>heap.alloc(<usize>size);
}

/** Steps for n to reach 1 (3n + 1 when odd, n / 2 when even). Traps if a value would pass 2^53. */
function steps(n: u64): u32 {
  let s: u32 = 0;
  while (n != 1) {
    if ((n & 1) == 0) {
      n >>= 1;
    } else {
      if (n > LIMIT) unreachable();
      n = 3 * n + 1;
    }
    s++;
  }
  return s;
}

/** The whole number after `"key":` in the JSON at [p, p + len), or -1 when absent. */
function field(p: usize, len: i32, key: string): i64 {
  const n = key.length;
  for (let i = 0; i + n + 2 <= len; i++) {
    if (load<u8>(p + i) != 0x22 || load<u8>(p + i + 1 + n) != 0x22) continue; // '"'
    let same = true;
    for (let j = 0; j < n && same; j++) same = load<u8>(p + i + 1 + j) == <u8>key.charCodeAt(j);
    if (!same) continue;
    let k = i + n + 2;
    while (k < len && (load<u8>(p + k) == 0x20 || load<u8>(p + k) == 0x3a)) k++; // spaces, ':'
    let value: i64 = 0;
    let digits = 0;
    while (k < len && load<u8>(p + k) >= 0x30 && load<u8>(p + k) <= 0x39) {
      value = value * 10 + <i64>(load<u8>(p + k) - 0x30);
      k++;
      digits++;
    }
    return digits > 0 && digits <= 16 ? value : -1;
  }
  return -1;
}

/** Appends ASCII `text` at `p`; returns the position after it. */
function writeText(p: usize, text: string): usize {
  for (let i = 0; i < text.length; i++) store<u8>(p + i, <u8>text.charCodeAt(i));
  return p + text.length;
}

/** Appends the decimal digits of `value` at `p`; returns the position after them. */
function writeNumber(p: usize, value: u64): usize {
  let digits = 1;
  for (let v = value; v >= 10; v /= 10) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(p + i, <u8>(0x30 + (value % 10)));
    value /= 10;
  }
  return p + digits;
}

export function compute(inPtr: i32, inLen: i32, paramsPtr: i32, paramsLen: i32): i64 {
  const start = field(<usize>inPtr, inLen, "start");
  const end = field(<usize>inPtr, inLen, "end");
  if (start < 0 || end < start) unreachable(); // not {"start": a, "end": b} with 0 <= a <= b

  let maxSteps: u32 = 0;
  let totalSteps: u64 = 0;
  for (let n: u64 = start < 1 ? 1 : <u64>start; n < <u64>end; n++) {
    const s = steps(n);
    totalSteps += s;
    if (s > maxSteps) maxSteps = s;
  }

  const out = heap.alloc(64);
  let p = writeText(out, '{"maxSteps":');
  p = writeNumber(p, maxSteps);
  p = writeText(p, ',"totalSteps":');
  p = writeNumber(p, totalSteps);
  p = writeText(p, "}");
  answered = true;
  return ((<i64>out) << 32) | <i64>(p - out);
}

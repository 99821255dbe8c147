// Turns the coordinator's structured log lines (one JSON object per line, as wrangler prints them,
// possibly inside its own "▲ [WARNING]" decoration) into lines for a person, or back into bare JSON.
// Anything else wrangler prints passes through unchanged.

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what ANSI color codes start with.
const ANSI = /\x1b\[[0-9;]*m/g;
/** wrangler's own line per request: the coordinator's request lines say the same and more. */
const WRANGLER_REQUEST = /^\[wrangler:info\] [A-Z]+ \S+ \d{3} .*\(\d+ms\)$/;
const LEVEL_COLOR = { debug: 90, info: 36, warn: 33, error: 31 };
const SHOWN_FIRST = ["method", "path", "status", "durationMs"];
const LEFT_OUT = new Set(["time", "level", "message", "route", ...SHOWN_FIRST]);

/** The structured entry a line of wrangler's output carries, if any. */
export function parseEntry(line) {
  const plain = line.replace(ANSI, "");
  const at = plain.indexOf('{"time":');
  if (at < 0) return undefined;
  try {
    const entry = JSON.parse(plain.slice(at).trim());
    return entry && typeof entry.level === "string" && typeof entry.message === "string" ? entry : undefined;
  } catch {
    return undefined;
  }
}

const quote = (v) => (typeof v === "string" && !/[\s"=]/.test(v) ? v : JSON.stringify(v));

/** One entry for a person: `12:00:01.234 INFO  POST /v1/leases 200 3ms volunteerId=v_…`. */
export function humanLine(entry, color = false) {
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const level = entry.level.toUpperCase().padEnd(5);
  const head = color ? `\x1b[${LEVEL_COLOR[entry.level] ?? 0}m${level}\x1b[0m` : level;
  const what =
    entry.message === "request" && entry.method ? `${entry.method} ${entry.path ?? entry.route} ${entry.status} ${entry.durationMs}ms` : entry.message;
  const rest = Object.entries(entry)
    .filter(([k, v]) => !LEFT_OUT.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return [time, head, what, ...rest].filter(Boolean).join(" ");
}

/**
 * A line formatter for one output stream. `json`: structured lines come out as bare JSON (one
 * object per line); otherwise as `humanLine`. Returns undefined for a line to drop: the blank
 * lines wrangler prints after a decorated warning or error, and wrangler's own request lines.
 */
export function lineFormatter({ json = false, color = false } = {}) {
  let afterEntry = false;
  return (line) => {
    const entry = parseEntry(line);
    if (entry) {
      afterEntry = true;
      return json ? JSON.stringify(entry) : humanLine(entry, color);
    }
    const plain = line.replace(ANSI, "").trim();
    if (plain === "" && afterEntry) return undefined;
    afterEntry = false;
    return WRANGLER_REQUEST.test(plain) ? undefined : line;
  };
}

/**
 * Prints lines from the local server on this process's stdout and stderr: formatted for a person
 * (in color on a terminal), or with `json` as bare JSON on stdout with every other line on stderr,
 * so `npm start | jq` sees only the coordinator's entries. `print(line, "stderr")` for a line
 * that came from an error stream or is a warning.
 */
export function printer({ json = false } = {}) {
  const formats = {
    stdout: lineFormatter({ json, color: !json && Boolean(process.stdout.isTTY) }),
    stderr: lineFormatter({ json, color: !json && Boolean(process.stderr.isTTY) }),
  };
  return (line, from = "stdout") => {
    const out = formats[from](line);
    if (out === undefined) return;
    const to = json ? (out.startsWith('{"time":') ? "stdout" : "stderr") : from;
    process[to].write(`${out}\n`);
  };
}

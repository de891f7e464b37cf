import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache, EntryRecord } from '../cache.js';
import { compareCodeUnits } from '../compare.js';
import { messageOf } from '../errors.js';
import type { Reporter } from '../events.js';
import { copyFileWithSha256, sha256Bytes } from '../hash.js';

/** Folder of the archive index, below the cache root: one record per archive inputs key. */
export const ARCHIVES_INDEX_DIR = 'archives';
/** Folder of the injected-executable index, below the cache root: one record per executable inputs key. */
export const EXECUTABLES_INDEX_DIR = 'executables';

/**
 * Revision of the output cache keys. Each key contains duo-sea's version
 * too, but that changes only at a release, so a change to the archive or
 * inject code that gives other bytes for the same inputs raises this instead.
 */
const OUTPUT_CACHE_REVISION = 1;

export type OutputKind = 'archive' | 'executable';

const INDEX_DIRS: Record<OutputKind, string> = { archive: ARCHIVES_INDEX_DIR, executable: EXECUTABLES_INDEX_DIR };

/** Index record that maps an output's inputs key to the cache entry of its bytes. */
export interface OutputRecord<Extra = unknown> {
  sha256: string;
  /** The inputs that the key was made from, so that `cache ls` and a reader can tell entries apart. */
  inputs: Record<string, unknown>;
  /** Stage result besides the file, such as a Mach-O signature, returned again on a hit. */
  extra?: Extra;
}

/** A cached output copied into place. */
export interface RestoredOutput<Extra> {
  sha256: string;
  extra?: Extra;
}

/**
 * Returns a key for an output from the inputs that decide its bytes. Keys
 * of object inputs are sorted, so the order that a caller lists them in does
 * not change the key.
 */
export function outputKey(kind: OutputKind, inputs: Record<string, unknown>, toolVersion: string): string {
  const described = { kind, revision: OUTPUT_CACHE_REVISION, toolVersion, inputs };
  return sha256Bytes(stableJson(described));
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const entries = Object.entries(item as Record<string, unknown>);
    entries.sort(([left], [right]) => compareCodeUnits(left, right));
    return Object.fromEntries(entries);
  });
}

/**
 * Reuses archives and injected executables of earlier builds from the
 * content cache. An index record, named by a key of every input that decides
 * the output's bytes, names the content entry. A hit copies the entry into
 * place and checks the copy's SHA-256 against the record, so a changed entry
 * is rebuilt, never published.
 */
export class OutputCache {
  constructor(
    private readonly cache: ContentCache,
    private readonly options: {
      toolVersion: string;
      report: Reporter;
      /** False to make every output again (--no-reuse); new outputs are still stored. Default: true. */
      reuse?: boolean;
    },
  ) {}

  key(kind: OutputKind, inputs: Record<string, unknown>): string {
    return outputKey(kind, inputs, this.options.toolVersion);
  }

  /** Returns the path of the index record of a key. */
  recordPath(kind: OutputKind, key: string): string {
    return path.join(this.cache.derivedDir(INDEX_DIRS[kind]), `${key.slice(0, 40)}.json`);
  }

  /**
   * Copies the cached output of `inputs` to `destination` and returns its
   * SHA-256, or undefined when there is none or the cache entry does not
   * have the recorded SHA-256 (the corrupt entry is then handled as lookup does). A hit is reported as an info event that names `description`.
   */
  async restore<Extra>(options: {
    kind: OutputKind;
    inputs: Record<string, unknown>;
    destination: string;
    /** Permission bits of the copy. Default: 0o644. */
    mode?: number;
    description: string;
    target?: string;
  }): Promise<RestoredOutput<Extra> | undefined> {
    if (this.options.reuse === false) return undefined;
    const record = await this.cache.readJson<OutputRecord<Extra>>(this.recordPath(options.kind, this.key(options.kind, options.inputs)));
    if (typeof record?.sha256 !== 'string') return undefined;
    // The copy is hashed as it is written, which checks the entry and the copy in one read.
    if (!(await this.cache.copyOut(record.sha256, options.destination, options.mode ?? 0o644))) return undefined;
    this.options.report({ kind: 'info', target: options.target, message: `reused ${options.description} from the cache (SHA-256 ${record.sha256.slice(0, 12)}…)` });
    return { sha256: record.sha256, extra: record.extra };
  }

  /**
   * Stores a copy of the output at `filePath` under the key of `inputs`. The
   * copy goes into the cache's temporary folder first and is renamed into
   * place, so another build never reads a part of it. A failure to store
   * is reported as a warning, because the output itself is complete.
   */
  async store<Extra>(options: {
    kind: OutputKind;
    inputs: Record<string, unknown>;
    filePath: string;
    sha256: string;
    label: string;
    target?: string;
    extra?: Extra;
  }): Promise<void> {
    const temp = await this.cache.tempPath(options.kind);
    try {
      const copied = await copyFileWithSha256(options.filePath, temp, 0o644);
      if (copied !== options.sha256) throw new Error(`${options.filePath} changed after it was hashed (SHA-256 ${copied}, expected ${options.sha256})`);
      const record: EntryRecord = { kind: options.kind, source: options.label, target: options.target };
      await this.cache.commit(temp, options.sha256, record);
      const indexRecord: OutputRecord<Extra> = { sha256: options.sha256, inputs: options.inputs, extra: options.extra };
      await this.cache.writeJson(this.recordPath(options.kind, this.key(options.kind, options.inputs)), indexRecord);
    } catch (error) {
      await rm(temp, { force: true });
      this.options.report({ kind: 'warning', target: options.target, message: `could not store ${options.label} in the cache ${this.cache.rootDir}, so the next build makes it again: ${messageOf(error)}` });
    }
  }
}

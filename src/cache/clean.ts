import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { BUILD_CACHE_KINDS, CONTENT_ENTRY_KINDS, listCache, tempFileWriter, type CacheItem, type CacheListing } from './list.js';
import { USERS_DIR, isRunning, type CacheUser } from './users.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The scope of `cache clean`. `unused`: what no build can use any more:
 * temporary files of processes that have ended, stripped binaries in the
 * old layout, and index records of entries that are gone. `older-than`:
 * that, and every entry not used in that many days. `all`: the whole
 * build cache but the temporary files of running processes. None of them
 * touches run-time extractions or other folders.
 */
export type CleanMode = { kind: 'unused' } | { kind: 'older-than'; days: number } | { kind: 'all' };

export interface RemovedItem extends CacheItem {
  reason: string;
}

export interface CleanResult {
  cacheDir: string;
  removed: RemovedItem[];
  freedBytes: number;
  /** The cache content after cleaning. */
  listing: CacheListing;
}

/** True for a temporary file whose writer has ended: its process is gone, or it is a day old. */
function isAbandoned(item: CacheItem, now: number): boolean {
  const pid = tempFileWriter(path.basename(item.path));
  if (now - item.modifiedAt.getTime() > DAY_MS) return true;
  return pid === undefined || !isRunning(pid);
}

function describeUser(user: CacheUser): string {
  return `${user.command} (pid ${user.pid}${user.hostname === os.hostname() ? '' : ` on ${user.hostname}`}, since ${user.startedAt})`;
}

/** Returns the items to remove, each with its reason. */
export function chooseItems(listing: CacheListing, mode: CleanMode, now: number): RemovedItem[] {
  const chosen = new Map<string, RemovedItem>();
  const add = (item: CacheItem, reason: string): void => {
    if (!chosen.has(item.path)) chosen.set(item.path, { ...item, reason });
  };

  if (mode.kind === 'all') {
    // A temporary file of a running process is kept: that process, which did not register as a cache user, still writes it.
    for (const item of listing.items) {
      if (BUILD_CACHE_KINDS.includes(item.kind) && (item.kind !== 'temporary' || isAbandoned(item, now))) add(item, 'cache clean --all');
    }
    return [...chosen.values()];
  }
  if (mode.kind === 'older-than') {
    const limit = now - mode.days * DAY_MS;
    for (const item of listing.items) {
      const aging = CONTENT_ENTRY_KINDS.includes(item.kind) || item.kind === 'conformance';
      if (aging && item.modifiedAt.getTime() < limit) add(item, `not used in ${mode.days} days`);
    }
  }
  for (const item of listing.items) {
    if (item.kind === 'temporary' && isAbandoned(item, now)) add(item, 'left by a process that has ended');
    if (item.kind === 'legacy') add(item, 'layout of an older duo-sea');
  }

  // Index records whose entry is gone, or is about to be, lead nowhere.
  const remaining = new Set(
    listing.items
      .filter((item) => CONTENT_ENTRY_KINDS.includes(item.kind) && !chosen.has(item.path))
      .map((item) => path.basename(item.path)),
  );
  for (const item of listing.items) {
    if (item.kind === 'index' && (item.refersTo === undefined || !remaining.has(item.refersTo))) add(item, 'refers to no entry');
  }
  return [...chosen.values()];
}

/**
 * Removes cache content by mode and returns what it removed. Refuses while
 * a build or fetch uses the cache, since one may have looked up an entry
 * that it has not copied yet.
 */
export async function cleanCache(options: { cacheDir: string; runDir?: string; mode: CleanMode; now?: number }): Promise<CleanResult> {
  const { cacheDir } = options;
  const before = await listCache(options);
  if (before.users.length > 0) {
    throw new DuoSeaError({
      code: 'E_CACHE_BUSY',
      stage: 'cache',
      input: cacheDir,
      found: before.users.map(describeUser).join('; '),
      message: `${before.users.length} duo-sea process${before.users.length === 1 ? ' uses' : 'es use'} the cache ${cacheDir}: ${before.users.map(describeUser).join('; ')}.`,
      hint: `Run cache clean after they finish. A record of a process on another host expires after a day; remove ${path.join(cacheDir, USERS_DIR)} if you know that none runs.`,
    });
  }

  const removed = chooseItems(before, options.mode, options.now ?? Date.now());
  for (const item of removed) {
    for (const file of [item.path, ...item.companions]) await rm(file, { recursive: true, force: true });
  }
  const freedBytes = removed.reduce((total, item) => total + item.sizeBytes, 0);
  return { cacheDir, removed, freedBytes, listing: await listCache(options) };
}

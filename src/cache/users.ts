import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Folder below the cache root with one file per running build or fetch. */
export const USERS_DIR = 'locks';

/**
 * A record written on another host is taken as live for this long, since its
 * process cannot be checked from here. A build takes minutes, so an older
 * record is from one that ended without removing it.
 */
const FOREIGN_RECORD_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** A process that uses the cache: a build or a fetch. */
export interface CacheUser {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
  /** The record's file. */
  file: string;
}

/** True when a process with this id runs on this host. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Records that this process uses the cache, until the returned function runs.
 * `duo-sea cache clean` fails while such a record is live, because a
 * build may have looked an entry up and not yet copied it. A rename cannot
 * protect that window, since it lies between two operations of the build.
 */
export async function registerCacheUser(rootDir: string, command: string): Promise<() => Promise<void>> {
  const folder = path.join(rootDir, USERS_DIR);
  const file = path.join(folder, `${process.pid}-${randomBytes(6).toString('hex')}.json`);
  const record = { pid: process.pid, hostname: os.hostname(), command, startedAt: new Date().toISOString() };
  try {
    await mkdir(folder, { recursive: true });
    // Written under another name and renamed, so that liveCacheUsers never reads a part of it.
    await writeFile(`${file}.partial`, `${JSON.stringify(record)}\n`);
    await rename(`${file}.partial`, file);
  } catch (error) {
    // A cache that this user may only read serves complete entries, and this user cannot clean it either.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return async () => undefined;
    throw error;
  }
  return () => rm(file, { force: true });
}

/** Returns the processes that use the cache now, after removing the records of processes on this host that have ended. */
export async function liveCacheUsers(rootDir: string, now = Date.now()): Promise<CacheUser[]> {
  const folder = path.join(rootDir, USERS_DIR);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }

  const users: CacheUser[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    const file = path.join(folder, name);
    const user = await readUser(file);
    if (user && isLive(user, now)) users.push(user);
    else await rm(file, { force: true });
  }
  return users;
}

async function readUser(file: string): Promise<CacheUser | undefined> {
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as Omit<CacheUser, 'file'>;
    if (typeof record.pid !== 'number' || typeof record.hostname !== 'string') return undefined;
    return { ...record, file };
  } catch (error) {
    // A record that vanished meanwhile, or that is not JSON, names no process that could still use the cache.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function isLive(user: CacheUser, now: number): boolean {
  if (user.hostname === os.hostname()) return isRunning(user.pid);
  return now - Date.parse(user.startedAt) < FOREIGN_RECORD_MAX_AGE_MS;
}

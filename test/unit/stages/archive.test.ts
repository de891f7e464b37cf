import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { sha256File } from '../../../src/hash.js';
import { writeArchives } from '../../../src/stages/archive.js';
import type { ArchiveType } from '../../../src/targets.js';

const run = promisify(execFile);
const MTIME = new Date('2024-01-02T03:04:05Z');

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-archive-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/**
 * Returns pseudo-random bytes in which a 40,000-byte block repeats with small
 * changes. The repeats lie beyond deflate's 32 KiB window but inside xz's
 * dictionary, so xz wins over gzip as it does on real executables.
 */
function sampleBytes(sizeBytes: number): Buffer {
  const blockBytes = 40_000;
  const block = Buffer.alloc(blockBytes);
  let state = 0x9e3779b9;
  for (let offset = 0; offset < blockBytes; offset += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    block[offset] = state & 0xff;
  }

  const bytes = Buffer.alloc(sizeBytes);
  for (let offset = 0; offset < sizeBytes; offset += 1) {
    bytes[offset] = block[offset % blockBytes] ^ (offset % 997 === 0 ? 0xff : 0);
  }
  return bytes;
}

async function makeExecutable(name: string, contents: Buffer): Promise<string> {
  const executablePath = path.join(workDir, name);
  await writeFile(executablePath, contents);
  // The source mode differs from the archived one to show that the archive sets its own.
  await chmod(executablePath, 0o644);
  return executablePath;
}

async function archive(options: { executablePath: string; types: ArchiveType[]; outDir?: string; mtime?: Date; entryName?: string }) {
  const outDir = options.outDir ?? path.join(workDir, 'out');
  await mkdir(outDir, { recursive: true });
  return writeArchives({
    executablePath: options.executablePath,
    entryName: options.entryName ?? 'srt',
    baseName: 'srt-linux-x64',
    types: options.types,
    outDir,
    mtime: options.mtime ?? MTIME,
  });
}

/** Writes an `xz` script into a new folder and returns a PATH that finds it first. */
async function fakeXzPath(script: string): Promise<string> {
  const binDir = path.join(workDir, 'fake-bin');
  await mkdir(binDir, { recursive: true });
  await writeFile(path.join(binDir, 'xz'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return `${binDir}${path.delimiter}${process.env.PATH ?? ''}`;
}

async function withPath<T>(pathValue: string, work: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = pathValue;
  try {
    return await work();
  } finally {
    process.env.PATH = saved;
  }
}

describe('writeArchives tar.gz', () => {
  it('extracts to the same bytes with mode 0755', async () => {
    const contents = sampleBytes(300_000);
    const executablePath = await makeExecutable('built', contents);

    const { archives, skipped } = await archive({ executablePath, types: ['tar.gz'] });

    expect(skipped).toEqual([]);
    expect(archives).toHaveLength(1);
    const extractDir = path.join(workDir, 'extract');
    await mkdir(extractDir);
    await run('tar', ['-xzf', archives[0].path, '-C', extractDir]);
    expect(await readdir(extractDir)).toEqual(['srt']);
    expect(await readFile(path.join(extractDir, 'srt'))).toEqual(contents);
    expect((await stat(path.join(extractDir, 'srt'))).mode & 0o7777).toBe(0o755);
  });

  it('stores owner 0, empty names and the given mtime', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));

    const { archives } = await archive({ executablePath, types: ['tar.gz'] });

    const { stdout } = await run('tar', ['--full-time', '-tvzf', archives[0].path], { env: { ...process.env, TZ: 'UTC' } });
    expect(stdout.trim()).toBe('-rwxr-xr-x 0/0           10000 2024-01-02 03:04:05 srt');
  });

  it('reports file, path, size and sha256', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(50_000));

    const { archives } = await archive({ executablePath, types: ['tar.gz'] });

    const [result] = archives;
    expect(result.type).toBe('tar.gz');
    expect(result.file).toBe('srt-linux-x64.tar.gz');
    expect(result.path).toBe(path.join(workDir, 'out', 'srt-linux-x64.tar.gz'));
    expect(result.sizeBytes).toBe((await stat(result.path)).size);
    expect(result.sha256).toBe(await sha256File(result.path));
  });

  it('writes a gzip header without mtime and with OS Unix', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));

    const { archives } = await archive({ executablePath, types: ['tar.gz'] });

    const bytes = await readFile(archives[0].path);
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    await run('gzip', ['-t', archives[0].path]);
  });

  it('writes identical bytes on every run', async () => {
    const contents = sampleBytes(200_000);
    const first = await archive({ executablePath: await makeExecutable('first', contents), types: ['tar.gz'], outDir: path.join(workDir, 'a') });
    const secondPath = await makeExecutable('second', contents);
    await chmod(secondPath, 0o700);

    const second = await archive({ executablePath: secondPath, types: ['tar.gz'], outDir: path.join(workDir, 'b') });

    expect(await readFile(second.archives[0].path)).toEqual(await readFile(first.archives[0].path));
  });

  it('changes the bytes when the mtime changes', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));
    const first = await archive({ executablePath, types: ['tar.gz'], outDir: path.join(workDir, 'a') });

    const second = await archive({ executablePath, types: ['tar.gz'], outDir: path.join(workDir, 'b'), mtime: new Date('2024-01-02T03:04:06Z') });

    expect(second.archives[0].sha256).not.toBe(first.archives[0].sha256);
  });

  it('leaves no temporary files', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(200_000));

    await archive({ executablePath, types: ['tar.gz', 'tar.xz'] });

    expect(await readdir(path.join(workDir, 'out'))).toEqual(['srt-linux-x64.tar.gz', 'srt-linux-x64.tar.xz']);
  });
});

describe('writeArchives tar.xz', () => {
  it('extracts to the same bytes when it is smaller', async () => {
    const contents = sampleBytes(300_000);
    const executablePath = await makeExecutable('built', contents);

    const { archives, skipped } = await archive({ executablePath, types: ['tar.gz', 'tar.xz'] });

    expect(skipped).toEqual([]);
    expect(archives.map((result) => result.type)).toEqual(['tar.gz', 'tar.xz']);
    const [gz, xz] = archives;
    expect(xz.sizeBytes).toBeLessThan(gz.sizeBytes);
    await run('xz', ['-t', xz.path]);
    const extractDir = path.join(workDir, 'extract');
    await mkdir(extractDir);
    await run('tar', ['-xJf', xz.path, '-C', extractDir]);
    expect(await readFile(path.join(extractDir, 'srt'))).toEqual(contents);
    expect((await stat(path.join(extractDir, 'srt'))).mode & 0o7777).toBe(0o755);
  });

  it('contains the same tar stream as the tar.gz', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(100_000));

    const { archives } = await archive({ executablePath, types: ['tar.gz', 'tar.xz'] });

    const fromGz = await run('gzip', ['-dc', archives[0].path], { encoding: 'buffer', maxBuffer: 10_000_000 });
    const fromXz = await run('xz', ['-dc', archives[1].path], { encoding: 'buffer', maxBuffer: 10_000_000 });
    expect(fromXz.stdout.equals(fromGz.stdout)).toBe(true);
    expect(fromGz.stdout.length % 512).toBe(0);
  });

  it('writes identical bytes on every run', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(200_000));
    const first = await archive({ executablePath, types: ['tar.xz'], outDir: path.join(workDir, 'a') });

    const second = await archive({ executablePath, types: ['tar.xz'], outDir: path.join(workDir, 'b') });

    expect(await readFile(second.archives[0].path)).toEqual(await readFile(first.archives[0].path));
  });

  it('removes a tar.xz that is not smaller', async () => {
    // A tiny tar is mostly zero blocks, and xz's container overhead exceeds gzip's.
    const executablePath = await makeExecutable('built', Buffer.from('#!/bin/sh\necho hi\n'));

    const { archives, skipped } = await archive({ executablePath, types: ['tar.gz', 'tar.xz'] });

    expect(archives.map((result) => result.type)).toEqual(['tar.gz']);
    expect(skipped).toHaveLength(1);
    expect(skipped[0].type).toBe('tar.xz');
    expect(skipped[0].reason).toMatch(/^srt-linux-x64\.tar\.xz \(\d+ bytes, \d+ B\) is not smaller than srt-linux-x64\.tar\.gz \(\d+ bytes/);
    expect(await readdir(path.join(workDir, 'out'))).toEqual(['srt-linux-x64.tar.gz']);
  });

  it('skips tar.xz when xz is not on PATH', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));
    const emptyDir = path.join(workDir, 'empty-bin');
    await mkdir(emptyDir);

    const { archives, skipped } = await withPath(emptyDir, () => archive({ executablePath, types: ['tar.gz', 'tar.xz'] }));

    expect(archives.map((result) => result.type)).toEqual(['tar.gz']);
    expect(skipped).toEqual([{ type: 'tar.xz', reason: expect.stringContaining('install xz-utils') as unknown as string }]);
  });

  it('ignores XZ_OPT', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(100_000));
    const first = await archive({ executablePath, types: ['tar.xz'], outDir: path.join(workDir, 'a') });
    process.env.XZ_OPT = '-0';

    try {
      const second = await archive({ executablePath, types: ['tar.xz'], outDir: path.join(workDir, 'b') });
      expect(second.archives[0].sha256).toBe(first.archives[0].sha256);
    } finally {
      delete process.env.XZ_OPT;
    }
  });

  it('removes the partial file when xz fails', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(100_000));
    const fakePath = await fakeXzPath('if [ "$1" = "--version" ]; then echo "xz 5.4.1"; exit 0; fi\nhead -c 100; echo "xz: broken pipe test" >&2; exit 1');

    const failure = await withPath(fakePath, () => archive({ executablePath, types: ['tar.gz', 'tar.xz'] })).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    const error = failure as DuoSeaError;
    expect(error.code).toBe('E_ARCHIVE_FAILED');
    expect(error.input).toBe(path.join(workDir, 'out', 'srt-linux-x64.tar.xz'));
    expect(error.message).toContain('srt-linux-x64.tar.xz');
    expect(error.message).toContain('xz: broken pipe test');
    expect(await readdir(path.join(workDir, 'out'))).toEqual(['srt-linux-x64.tar.gz']);
  });
});

describe('writeArchives zip', () => {
  it('keeps the run bit in zip', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(100_000));

    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe' });

    const { stdout } = await run('unzip', ['-Z', archives[0].path]);
    const entryLine = stdout.split('\n').find((line) => line.endsWith(' srt.exe'));
    expect(entryLine).toMatch(/^-rwxr-xr-x +2\.0 unx +100000 b- defX /);
    expect(stdout).toContain('1 file, 100000 bytes uncompressed');
  });

  it('passes unzip -t and returns the same bytes', async () => {
    const contents = sampleBytes(300_000);
    const executablePath = await makeExecutable('built', contents);

    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe' });

    const tested = await run('unzip', ['-t', archives[0].path]);
    expect(tested.stdout).toContain('No errors detected');
    const printed = await run('unzip', ['-p', archives[0].path, 'srt.exe'], { encoding: 'buffer', maxBuffer: 10_000_000 });
    expect(printed.stdout.equals(contents)).toBe(true);
  });

  it('restores mode 0755 on extraction', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));
    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe' });
    const extractDir = path.join(workDir, 'extract');

    await run('unzip', ['-q', archives[0].path, '-d', extractDir]);

    expect((await stat(path.join(extractDir, 'srt.exe'))).mode & 0o777).toBe(0o755);
  });

  it('stores the mtime as DOS time in UTC', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));

    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe' });

    const { stdout } = await run('unzip', ['-Z', '-T', archives[0].path]);
    // DOS time has 2-second steps, so 03:04:05 is stored as 03:04:04.
    expect(stdout).toContain(' 20240102.030404 srt.exe');
  });

  it('clamps times before 1980', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));

    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe', mtime: new Date(0) });

    const { stdout } = await run('unzip', ['-Z', '-T', archives[0].path]);
    expect(stdout).toContain(' 19800101.000000 srt.exe');
  });

  it('writes no extra fields', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(10_000));

    const { archives } = await archive({ executablePath, types: ['zip'], entryName: 'srt.exe' });

    const bytes = await readFile(archives[0].path);
    expect(bytes.readUInt32LE(0)).toBe(0x04034b50);
    expect(bytes.readUInt16LE(28)).toBe(0);
    const endOffset = bytes.length - 22;
    expect(bytes.readUInt32LE(endOffset)).toBe(0x06054b50);
    const centralOffset = bytes.readUInt32LE(endOffset + 16);
    expect(bytes.readUInt32LE(centralOffset)).toBe(0x02014b50);
    expect(bytes.readUInt16LE(centralOffset + 4)).toBe(0x0314);
    expect(bytes.readUInt16LE(centralOffset + 30)).toBe(0);
    expect(bytes.readUInt32LE(centralOffset + 38) >>> 16).toBe(0o100755);
  });

  it('writes identical bytes on every run', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(200_000));
    const first = await archive({ executablePath, types: ['zip'], outDir: path.join(workDir, 'a') });

    const second = await archive({ executablePath, types: ['zip'], outDir: path.join(workDir, 'b') });

    expect(await readFile(second.archives[0].path)).toEqual(await readFile(first.archives[0].path));
  });
});

describe('writeArchives input checks', () => {
  it('rejects an entry name with a slash', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(1_000));

    const failure = await archive({ executablePath, types: ['tar.gz'], entryName: 'bin/srt' }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_ARCHIVE_FAILED');
    expect((failure as DuoSeaError).input).toBe('bin/srt');
    expect((failure as DuoSeaError).hint).toContain('--bin');
  });

  it('rejects a missing executable', async () => {
    const missing = path.join(workDir, 'missing');

    const failure = await archive({ executablePath: missing, types: ['tar.gz'] }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_ARCHIVE_FAILED');
    expect((failure as DuoSeaError).input).toBe(missing);
    expect(await readdir(path.join(workDir, 'out'))).toEqual([]);
  });

  it('rejects a time before 1970', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(1_000));

    const failure = await archive({ executablePath, types: ['tar.gz'], mtime: new Date(-1000) }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_ARCHIVE_FAILED');
    expect((failure as DuoSeaError).hint).toContain('SOURCE_DATE_EPOCH');
  });

  it('rejects a tar entry over 8 GiB', async () => {
    // A sparse file has the size without using the disk space.
    const executablePath = await makeExecutable('built', Buffer.alloc(0));
    await truncate(executablePath, 8 * 1024 ** 3);

    for (const type of ['tar.gz', 'tar.xz'] as const) {
      const failure = await archive({ executablePath, types: [type] }).catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(DuoSeaError);
      expect((failure as DuoSeaError).code).toBe('E_ARCHIVE_FAILED');
      expect((failure as DuoSeaError).expected).toBe('at most 8589934591 bytes');
      expect(await readdir(path.join(workDir, 'out'))).toEqual([]);
    }
  });

  it('rejects a zip entry of 4 GiB', async () => {
    const executablePath = await makeExecutable('built', Buffer.alloc(0));
    await truncate(executablePath, 4 * 1024 ** 3);

    const failure = await archive({ executablePath, types: ['zip'] }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_ARCHIVE_FAILED');
    expect((failure as DuoSeaError).message).toContain('too large for a zip archive without ZIP64');
    expect(await readdir(path.join(workDir, 'out'))).toEqual([]);
  });

  it('writes each type once when listed twice', async () => {
    const executablePath = await makeExecutable('built', sampleBytes(1_000));

    const { archives } = await archive({ executablePath, types: ['zip', 'zip'] });

    expect(archives.map((result) => result.file)).toEqual(['srt-linux-x64.zip']);
  });
});

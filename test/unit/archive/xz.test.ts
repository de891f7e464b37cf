import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveEntry } from '../../../src/archive/entry.js';
import { writeTarXz } from '../../../src/archive/xz.js';
import { findTarget } from '../../../src/targets.js';

const run = promisify(execFile);

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-xz-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Writes random bytes that repeat once, so that the archive is smaller than its input. */
async function makeEntry(sizeBytes: number): Promise<{ entry: ArchiveEntry; contents: Buffer }> {
  const half = randomBytes(Math.ceil(sizeBytes / 2));
  const contents = Buffer.concat([half, half]).subarray(0, sizeBytes);
  const sourcePath = path.join(workDir, 'built');
  await writeFile(sourcePath, contents);
  return { entry: { sourcePath, name: 'srt', sizeBytes, mtime: new Date('2024-01-02T03:04:05Z') }, contents };
}

/** Returns the filter chain that `xz --list` reads from the header of the only block. */
async function filterChain(archivePath: string): Promise<string> {
  const { stdout } = await run('xz', ['--robot', '--list', '--verbose', '--verbose', archivePath]);
  const block = stdout.split('\n').find((line) => line.startsWith('block\t'));
  return block?.split('\t').at(-1) ?? '';
}

/** Whether a `busybox` command runs here; its `true` applet exits 0. */
const busyboxRuns = spawnSync('busybox', ['true']).status === 0;

describe('writeTarXz', () => {
  it('filters an x64 executable', async () => {
    const { entry } = await makeEntry(300_000);
    const archivePath = path.join(workDir, 'srt.tar.xz');

    await writeTarXz(entry, archivePath, findTarget('linux-x64'));

    expect(await filterChain(archivePath)).toBe('--x86 --lzma2=dict=512KiB');
  });

  it('leaves an arm64 executable unfiltered', async () => {
    const { entry } = await makeEntry(300_000);
    const archivePath = path.join(workDir, 'srt.tar.xz');

    await writeTarXz(entry, archivePath, findTarget('linux-arm64'));

    expect(await filterChain(archivePath)).toBe('--lzma2=dict=512KiB');
  });

  it('extracts a filtered archive with GNU tar', async () => {
    const { entry, contents } = await makeEntry(300_000);
    const archivePath = path.join(workDir, 'srt.tar.xz');
    await writeTarXz(entry, archivePath, findTarget('darwin-x64'));

    const extractDir = path.join(workDir, 'extract');
    await mkdir(extractDir);
    await run('tar', ['-xJf', archivePath, '-C', extractDir]);

    expect(await readFile(path.join(extractDir, 'srt'))).toEqual(contents);
  });

  it.skipIf(!busyboxRuns)('extracts a musl archive with BusyBox tar', async () => {
    const { entry, contents } = await makeEntry(300_000);
    const archivePath = path.join(workDir, 'srt.tar.xz');
    await writeTarXz(entry, archivePath, findTarget('linux-x64-musl'));

    const extractDir = path.join(workDir, 'extract');
    await mkdir(extractDir);
    await run('busybox', ['tar', '-xJf', archivePath, '-C', extractDir]);

    expect(await readFile(path.join(extractDir, 'srt'))).toEqual(contents);
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { sha256File } from '../../../src/hash.js';
import { formatChecksumList, writeChecksumList } from '../../../src/stages/checksum-list.js';

const run = promisify(execFile);
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

describe('formatChecksumList', () => {
  it('sorts lines by name with two spaces', () => {
    const text = formatChecksumList([
      { file: 'srt-win-x64.zip', sha256: HASH_B },
      { file: 'srt-linux-x64.tar.gz', sha256: HASH_A },
    ]);

    expect(text).toBe(`${HASH_A}  srt-linux-x64.tar.gz\n${HASH_B}  srt-win-x64.zip\n`);
  });

  it('sorts upper case before lower case in every locale', () => {
    const text = formatChecksumList([
      { file: 'b', sha256: HASH_A },
      { file: 'B', sha256: HASH_A },
      { file: 'a', sha256: HASH_A },
    ]);

    expect(text.split('\n').map((line) => line.slice(66))).toEqual(['B', 'a', 'b', '']);
  });

  it('returns an empty string for no files', () => {
    expect(formatChecksumList([])).toBe('');
  });

  it('does not reorder its input', () => {
    const files = [
      { file: 'b', sha256: HASH_B },
      { file: 'a', sha256: HASH_A },
    ];

    formatChecksumList(files);

    expect(files.map((entry) => entry.file)).toEqual(['b', 'a']);
  });

  it('rejects an upper-case hash', () => {
    expect(() => formatChecksumList([{ file: 'a', sha256: 'A'.repeat(64) }])).toThrow(/Invalid SHA-256 "A{64}" for a/);
  });

  it('rejects a short hash', () => {
    expect(() => formatChecksumList([{ file: 'a', sha256: 'a'.repeat(63) }])).toThrow(/expected 64 lowercase hex digits/);
  });

  it('rejects a name with a line break', () => {
    expect(() => formatChecksumList([{ file: 'a\nb', sha256: HASH_A }])).toThrow(/Invalid file name/);
  });

  it('rejects a name with a backslash', () => {
    expect(() => formatChecksumList([{ file: 'a\\b', sha256: HASH_A }])).toThrow(/Invalid file name/);
  });

  it('rejects a path', () => {
    expect(() => formatChecksumList([{ file: 'out/a', sha256: HASH_A }])).toThrow(/Invalid file name/);
  });

  it('rejects a name listed twice', () => {
    expect(() =>
      formatChecksumList([
        { file: 'a', sha256: HASH_A },
        { file: 'a', sha256: HASH_B },
      ]),
    ).toThrow('The checksum list contains "a" twice.');
  });
});

describe('writeChecksumList', () => {
  let outDir: string;

  beforeEach(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-sums-'));
  });

  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  async function writeSample(name: string, contents: string): Promise<{ file: string; sha256: string }> {
    const filePath = path.join(outDir, name);
    await writeFile(filePath, contents);
    return { file: name, sha256: await sha256File(filePath) };
  }

  it('writes a list that sha256sum -c accepts', async () => {
    const files = [await writeSample('srt-linux-x64.tar.gz', 'gz bytes'), await writeSample('srt-win-x64.zip', 'zip bytes')];

    const listPath = await writeChecksumList(outDir, files);

    expect(listPath).toBe(path.join(outDir, 'SHA256SUMS'));
    const { stdout } = await run('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: outDir });
    expect(stdout).toBe('srt-linux-x64.tar.gz: OK\nsrt-win-x64.zip: OK\n');
  });

  it('lets sha256sum -c find a changed file', async () => {
    const files = [await writeSample('srt-linux-x64.tar.gz', 'gz bytes')];
    await writeChecksumList(outDir, files);
    await writeFile(path.join(outDir, 'srt-linux-x64.tar.gz'), 'other bytes');

    const failure = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir }).then(
      () => undefined,
      (error: unknown) => error as { code?: number; stdout?: string },
    );

    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toBe('srt-linux-x64.tar.gz: FAILED\n');
  });

  it('writes the formatted text', async () => {
    const files = [{ file: 'a', sha256: HASH_A }];

    const listPath = await writeChecksumList(outDir, files);

    expect(await readFile(listPath, 'utf8')).toBe(formatChecksumList(files));
  });

  it('reports a missing output folder', async () => {
    const missingDir = path.join(outDir, 'missing');

    const failure = await writeChecksumList(missingDir, [{ file: 'a', sha256: HASH_A }]).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_OUTPUT_FAILED');
    expect((failure as DuoSeaError).input).toBe(path.join(missingDir, 'SHA256SUMS'));
  });
});

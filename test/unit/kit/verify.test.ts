import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeKitChecksumList } from '../../../src/kit/files.js';
import { parseChecksumList, verifyRelease } from '../../../src/verify.js';

const folders: string[] = [];

afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Writes a folder with files in subfolders, as a kit has them, and its SHA256SUMS. */
async function kitFolder(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-kit-verify-'));
  folders.push(dir);
  for (const [file, content] of Object.entries({ 'kit.json': '{}', 'packages/a-1.0.0.tgz': 'a', 'node/node-v26.10.0-linux-x64': 'node' })) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  await writeKitChecksumList(dir);
  return dir;
}

describe('verifyRelease of a kit', () => {
  it('checks files in subfolders', async () => {
    const result = await verifyRelease(await kitFolder());

    expect(result.verified).toEqual(['kit.json', 'node/node-v26.10.0-linux-x64', 'packages/a-1.0.0.tgz']);
    expect(result.problems).toEqual([]);
  });

  it('names a missing tarball', async () => {
    const dir = await kitFolder();
    rmSync(path.join(dir, 'packages', 'a-1.0.0.tgz'));

    expect((await verifyRelease(dir)).problems).toEqual([{ file: 'packages/a-1.0.0.tgz', problem: 'missing' }]);
  });

  it('notes an unlisted file in a subfolder', async () => {
    const dir = await kitFolder();
    writeFileSync(path.join(dir, 'packages', 'b-1.0.0.tgz'), 'b');

    expect((await verifyRelease(dir)).unlisted).toEqual(['packages/b-1.0.0.tgz']);
  });
});

describe('parseChecksumList with subfolders', () => {
  const hash = 'a'.repeat(64);

  it('accepts a path inside the folder', () => {
    expect(parseChecksumList(`${hash}  packages/a.tgz\n`, 'SHA256SUMS', { subfolders: true })).toEqual([{ sha256: hash, file: 'packages/a.tgz' }]);
  });

  it('rejects a path that leaves the folder', () => {
    expect(() => parseChecksumList(`${hash}  ../a.tgz\n`, 'SHA256SUMS', { subfolders: true })).toThrow(/Line 1 of SHA256SUMS/);
  });

  it('rejects a subfolder path by default', () => {
    expect(() => parseChecksumList(`${hash}  packages/a.tgz\n`, 'SHA256SUMS')).toThrow(/Line 1 of SHA256SUMS/);
  });
});

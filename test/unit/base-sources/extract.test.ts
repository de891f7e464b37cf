import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractZipMember } from '../../../src/base-sources/extract.js';
import { fakePe, fixtureFolder, removeFixtureFolders, zipWith } from './fixtures.js';

afterAll(removeFixtureFolders);

/** Writes a zip with one member and returns its path. */
async function zipFile(name: string, data: Buffer): Promise<string> {
  const archive = path.join(fixtureFolder('zip-file'), 'release.zip');
  writeFileSync(archive, await zipWith(name, data));
  return archive;
}

describe('extractZipMember', () => {
  const exe = fakePe({ machine: 'x64', payload: 'x'.repeat(5000) });

  it('inflates the named member', async () => {
    const archive = await zipFile('node-v26.10.0-win-x64/node.exe', exe);
    const destination = path.join(fixtureFolder('unzip'), 'node.exe');

    const extracted = await extractZipMember(archive, 'node-v26.10.0-win-x64/node.exe', destination);

    expect(extracted).toBe(destination);
    expect(readFileSync(destination)).toEqual(exe);
  });

  it('returns undefined for a missing member', async () => {
    const archive = await zipFile('node-v26.10.0-win-x64/node.exe', exe);

    expect(await extractZipMember(archive, 'node-v26.10.0-win-x64/other.exe', path.join(fixtureFolder('unzip'), 'node.exe'))).toBeUndefined();
  });

  it('rejects a file without an end record', async () => {
    const folder = fixtureFolder('not-zip');
    const archive = path.join(folder, 'release.zip');
    writeFileSync(archive, Buffer.alloc(100));

    await expect(extractZipMember(archive, 'node.exe', path.join(folder, 'node.exe'))).rejects.toThrow('no zip end of central directory record');
  });

  it('rejects a member whose size differs from the directory', async () => {
    const archive = await zipFile('node.exe', exe);
    const bytes = readFileSync(archive);
    // The central directory's uncompressed size sits 24 bytes into its header, which starts right after the deflated data.
    const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(exe.length + 1, central + 24);
    writeFileSync(archive, bytes);
    const destination = path.join(fixtureFolder('unzip'), 'node.exe');

    await expect(extractZipMember(archive, 'node.exe', destination)).rejects.toThrow(`unpacked to ${exe.length} bytes, and the zip's central directory gives ${exe.length + 1}`);
    expect(statSync(destination).size).toBe(exe.length);
  });
});

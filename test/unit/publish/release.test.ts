import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { readRelease } from '../../../src/publish/release.js';

const MANIFEST = JSON.stringify({ app: { package: '@example/tool', version: '1.2.3', bin: 'tool' }, node: { version: '26.10.0' } });

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Writes a release folder: the files, then a SHA256SUMS of `listed` (default: every file). */
function writeRelease(files: Record<string, string>, listed: Record<string, string> = files): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-release-'));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const sums = Object.entries(listed).map(([name, content]) => `${sha256(content)}  ${name}\n`);
  writeFileSync(path.join(dir, 'SHA256SUMS'), sums.join(''));
  return dir;
}

async function failureOf(dir: string): Promise<DuoSeaError> {
  const failure = await readRelease(dir).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(DuoSeaError);
  return failure as DuoSeaError;
}

describe('readRelease', () => {
  it('orders SHA256SUMS last and manifest.json before it', async () => {
    const dir = writeRelease({ 'tool-linux-x64': 'binary', 'manifest.json': MANIFEST, 'install.sh': '#!/bin/sh\n' });

    const release = await readRelease(dir);

    expect(release.files.map((file) => file.name)).toEqual(['install.sh', 'tool-linux-x64', 'manifest.json', 'SHA256SUMS']);
  });

  it('records size and SHA-256 of each file', async () => {
    const dir = writeRelease({ 'tool-linux-x64': 'binary', 'manifest.json': MANIFEST });

    const file = (await readRelease(dir)).files.find((entry) => entry.name === 'tool-linux-x64');

    expect(file).toEqual({ name: 'tool-linux-x64', path: path.join(dir, 'tool-linux-x64'), sizeBytes: 6, sha256: sha256('binary') });
  });

  it('reads the manifest fields', async () => {
    const release = await readRelease(writeRelease({ 'manifest.json': MANIFEST }));

    expect(release.manifest.app.bin).toBe('tool');
    expect(release.manifest.node.version).toBe('26.10.0');
  });

  it('lists files that SHA256SUMS leaves out', async () => {
    const dir = writeRelease({ 'manifest.json': MANIFEST, 'old-linux-x64': 'stale' }, { 'manifest.json': MANIFEST });

    expect((await readRelease(dir)).unlistedFiles).toEqual(['old-linux-x64']);
  });

  it('rejects a file whose SHA-256 differs', async () => {
    const dir = writeRelease({ 'manifest.json': MANIFEST, 'tool-linux-x64': 'tampered' }, { 'manifest.json': MANIFEST, 'tool-linux-x64': 'binary' });

    const failure = await failureOf(dir);

    expect(failure.code).toBe('E_RELEASE_INVALID');
    expect(failure.message).toContain(`tool-linux-x64: SHA-256 is ${sha256('tampered')}`);
  });

  it('reports every missing file at once', async () => {
    const dir = writeRelease({ 'manifest.json': MANIFEST }, { 'manifest.json': MANIFEST, 'a-linux-x64': 'a', 'b-linux-x64': 'b' });

    const failure = await failureOf(dir);

    expect(failure.message).toContain('a-linux-x64:');
    expect(failure.message).toContain('b-linux-x64:');
  });

  it('rejects a malformed SHA256SUMS line', async () => {
    const dir = writeRelease({ 'manifest.json': MANIFEST });
    writeFileSync(path.join(dir, 'SHA256SUMS'), `${sha256(MANIFEST)}  manifest.json\nnot a checksum line\n`);

    expect((await failureOf(dir)).message).toContain('SHA256SUMS line 2');
  });

  it('rejects a name GitLab does not accept', async () => {
    const dir = writeRelease({ 'manifest.json': MANIFEST, 'tool linux': 'x' });

    expect((await failureOf(dir)).message).toContain('tool linux: a GitLab package file name');
  });

  it('requires manifest.json in SHA256SUMS', async () => {
    const dir = writeRelease({ 'tool-linux-x64': 'binary' });

    expect((await failureOf(dir)).message).toContain('manifest.json: not listed');
  });

  it('rejects a manifest without a bin', async () => {
    const manifest = JSON.stringify({ app: { package: 'x', version: '1.0.0' }, node: { version: '26.10.0' } });

    expect((await failureOf(writeRelease({ 'manifest.json': manifest }))).message).toContain('missing app.bin');
  });

  it('rejects a folder without SHA256SUMS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-release-'));
    folders.push(dir);

    const failure = await failureOf(dir);

    expect(failure.input).toBe(path.join(dir, 'SHA256SUMS'));
    expect(failure.hint).toMatch(/output folder of duo-sea build/);
  });
});

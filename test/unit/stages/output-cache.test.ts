import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { xzArgumentsFor } from '../../../src/archive/compression.js';
import { ContentCache } from '../../../src/cache.js';
import type { BuildEvent } from '../../../src/events.js';
import { sha256Bytes, sha256File } from '../../../src/hash.js';
import { archiveInputs, writeArchives } from '../../../src/stages/archive.js';
import { executableInputs, isExecutableCacheable, writeInjectedExecutable } from '../../../src/stages/executable.js';
import { OutputCache, outputKey } from '../../../src/stages/output-cache.js';
import { findTarget } from '../../../src/targets.js';

const MTIME = new Date('2024-01-02T03:04:05Z');

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-output-cache-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function outputCache(events: BuildEvent[] = [], toolVersion = '1.2.3'): { outputs: OutputCache; cache: ContentCache } {
  const cache = new ContentCache(path.join(workDir, 'cache'));
  return { cache, outputs: new OutputCache(cache, { toolVersion, report: (event) => events.push(event) }) };
}

async function writeSample(name: string, content: string | Buffer): Promise<string> {
  const filePath = path.join(workDir, name);
  await mkdir(path.dirname(filePath), { recursive: true });
  await writeFile(filePath, content);
  return filePath;
}

function infoMessages(events: BuildEvent[]): string[] {
  return events.filter((event) => event.kind === 'info').map((event) => (event as { message: string }).message);
}

describe('outputKey', () => {
  const inputs = { type: 'tar.gz', executableSha256: 'a'.repeat(64), entryName: 'srt', mtimeSeconds: 1, compressor: { deflateLevel: 9, zlib: '1.3' } };

  it('ignores the order of inputs', () => {
    const reordered = { compressor: { zlib: '1.3', deflateLevel: 9 }, mtimeSeconds: 1, entryName: 'srt', executableSha256: 'a'.repeat(64), type: 'tar.gz' };
    expect(outputKey('archive', reordered, '1.2.3')).toBe(outputKey('archive', inputs, '1.2.3'));
  });

  it.each([
    ['type', { ...inputs, type: 'zip' }],
    ['executable', { ...inputs, executableSha256: 'b'.repeat(64) }],
    ['entry name', { ...inputs, entryName: 'srt.exe' }],
    ['mtime', { ...inputs, mtimeSeconds: 2 }],
    ['compressor setting', { ...inputs, compressor: { deflateLevel: 6, zlib: '1.3' } }],
  ])('changes with the %s', (_name, changed) => {
    expect(outputKey('archive', changed, '1.2.3')).not.toBe(outputKey('archive', inputs, '1.2.3'));
  });

  it('changes with the duo-sea version', () => {
    expect(outputKey('archive', inputs, '1.2.4')).not.toBe(outputKey('archive', inputs, '1.2.3'));
  });

  it('changes with the kind', () => {
    expect(outputKey('executable', inputs, '1.2.3')).not.toBe(outputKey('archive', inputs, '1.2.3'));
  });
});

describe('OutputCache', () => {
  it('restores a stored output', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const source = await writeSample('built', 'archive bytes');
    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256: sha256Bytes('archive bytes'), label: 'x.tar.gz' });

    const destination = path.join(workDir, 'restored');
    const restored = await outputs.restore({ kind: 'archive', inputs: { n: 1 }, destination, description: 'x.tar.gz', target: 'linux-x64' });

    expect(restored?.sha256).toBe(sha256Bytes('archive bytes'));
    expect(await readFile(destination, 'utf8')).toBe('archive bytes');
    expect(infoMessages(events)[0]).toMatch(/^reused x\.tar\.gz from the cache/);
  });

  it('stores but never restores without reuse', async () => {
    const cache = new ContentCache(path.join(workDir, 'cache'));
    const outputs = new OutputCache(cache, { toolVersion: '1.2.3', report: () => undefined, reuse: false });
    const source = await writeSample('built', 'archive bytes');
    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256: sha256Bytes('archive bytes'), label: 'x.tar.gz' });

    expect(await outputs.restore({ kind: 'archive', inputs: { n: 1 }, destination: path.join(workDir, 'restored'), description: 'x.tar.gz' })).toBeUndefined();
    expect(await cache.lookup(sha256Bytes('archive bytes'))).toBeDefined();
  });

  it('misses for other inputs', async () => {
    const { outputs } = outputCache();
    const source = await writeSample('built', 'archive bytes');
    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256: sha256Bytes('archive bytes'), label: 'x.tar.gz' });

    const restored = await outputs.restore({ kind: 'archive', inputs: { n: 2 }, destination: path.join(workDir, 'restored'), description: 'x.tar.gz' });

    expect(restored).toBeUndefined();
  });

  it('misses for another duo-sea version', async () => {
    const { cache, outputs } = outputCache();
    const source = await writeSample('built', 'archive bytes');
    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256: sha256Bytes('archive bytes'), label: 'x.tar.gz' });
    const newer = new OutputCache(cache, { toolVersion: '9.9.9', report: () => undefined });

    const restored = await newer.restore({ kind: 'archive', inputs: { n: 1 }, destination: path.join(workDir, 'restored'), description: 'x.tar.gz' });

    expect(restored).toBeUndefined();
  });

  it('misses when the entry is corrupt', async () => {
    const { cache, outputs } = outputCache();
    const source = await writeSample('built', 'archive bytes');
    const sha256 = sha256Bytes('archive bytes');
    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256, label: 'x.tar.gz' });
    await writeFile(cache.entryPath(sha256), 'changed bytes');

    const destination = path.join(workDir, 'restored');
    const restored = await outputs.restore({ kind: 'archive', inputs: { n: 1 }, destination, description: 'x.tar.gz' });

    expect(restored).toBeUndefined();
    await expect(stat(destination)).rejects.toThrow();
  });

  it('warns instead of storing a changed file', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const source = await writeSample('built', 'archive bytes');

    await outputs.store({ kind: 'archive', inputs: { n: 1 }, filePath: source, sha256: sha256Bytes('other bytes'), label: 'x.tar.gz' });
    const restored = await outputs.restore({ kind: 'archive', inputs: { n: 1 }, destination: path.join(workDir, 'restored'), description: 'x.tar.gz' });

    expect(restored).toBeUndefined();
    expect(events.some((event) => event.kind === 'warning' && event.message.startsWith('could not store x.tar.gz'))).toBe(true);
  });
});

describe('writeArchives with a cache', () => {
  async function archiveOnce(options: { outputs: OutputCache; executablePath: string; outDir: string; mtime?: Date }) {
    await mkdir(options.outDir, { recursive: true });
    return writeArchives({
      executablePath: options.executablePath,
      entryName: 'tool',
      baseName: 'tool-linux-x64',
      types: ['tar.gz', 'zip'],
      outDir: options.outDir,
      mtime: options.mtime ?? MTIME,
      target: findTarget('linux-x64'),
      cache: { outputs: options.outputs },
    });
  }

  it('reuses the archives of the same executable', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const executablePath = await writeSample('tool', Buffer.alloc(100_000, 7));
    const first = await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'first') });

    const second = await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'second') });

    expect(infoMessages(events)).toEqual([expect.stringMatching(/^reused tool-linux-x64\.tar\.gz from the cache/), expect.stringMatching(/^reused tool-linux-x64\.zip from the cache/)]);
    expect(second.archives.map((archive) => archive.sha256)).toEqual(first.archives.map((archive) => archive.sha256));
    expect(await sha256File(second.archives[0].path)).toBe(first.archives[0].sha256);
  });

  it('writes again for another mtime', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const executablePath = await writeSample('tool', Buffer.alloc(100_000, 7));
    await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'first') });

    await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'second'), mtime: new Date('2025-01-01T00:00:00Z') });

    expect(infoMessages(events)).toEqual([]);
  });

  it('writes again for another executable', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const executablePath = await writeSample('tool', Buffer.alloc(100_000, 7));
    await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'first') });
    await writeFile(executablePath, Buffer.alloc(100_000, 8));

    const second = await archiveOnce({ outputs, executablePath, outDir: path.join(workDir, 'second') });

    expect(infoMessages(events)).toEqual([]);
    expect(second.archives).toHaveLength(2);
  });
});

describe('archiveInputs', () => {
  const entry = { sourcePath: '/x/tool', name: 'tool', sizeBytes: 1, mtime: MTIME };

  it('keys xz by the arguments that xz gets', async () => {
    const target = findTarget('linux-x64');
    const inputs = await archiveInputs({ type: 'tar.xz', entry, executableSha256: 'a'.repeat(64), target });
    expect((inputs.compressor as { arguments: string[] }).arguments).toEqual(xzArgumentsFor({ target, inputBytes: entry.sizeBytes }));
  });

  it('keys xz by the target', async () => {
    const x64 = await archiveInputs({ type: 'tar.xz', entry, executableSha256: 'a'.repeat(64), target: findTarget('linux-x64') });
    const arm64 = await archiveInputs({ type: 'tar.xz', entry, executableSha256: 'a'.repeat(64), target: findTarget('linux-arm64') });
    expect(outputKey('archive', arm64, '1.2.3')).not.toBe(outputKey('archive', x64, '1.2.3'));
  });

  it('keys deflate by the zlib version', async () => {
    const inputs = await archiveInputs({ type: 'zip', entry, executableSha256: 'a'.repeat(64) });
    expect((inputs.compressor as { zlib: string }).zlib).toBe(process.versions.zlib);
  });
});

describe('isExecutableCacheable', () => {
  it.each([
    ['accepts ad-hoc macOS', 'darwin-arm64', undefined, false, true],
    ['rejects a macOS identity', 'darwin-arm64', 'Developer ID Application: X', false, false],
    ['accepts unsigned Windows', 'win-x64', undefined, false, true],
    ['rejects Authenticode', 'win-x64', undefined, true, false],
    ['ignores signers for Linux', 'linux-x64', 'Developer ID Application: X', true, true],
  ])('%s', (_name, targetId, macosSignIdentity, windowsSigned, expected) => {
    expect(isExecutableCacheable({ target: findTarget(targetId), macosSignIdentity, windowsSigned })).toBe(expected);
  });
});

describe('writeInjectedExecutable', () => {
  const unusedStage = <T>(_name: string, _work: () => Promise<T>): Promise<T> => {
    throw new Error('a reused executable runs no stage');
  };

  async function storedExecutable(outputs: OutputCache) {
    const target = findTarget('darwin-arm64');
    const strippedPath = await writeSample('stripped', 'stripped base');
    const blob = { blob: Buffer.from('blob bytes'), blobPath: await writeSample('sea.blob', 'blob bytes') };
    const inputs = await executableInputs({ target, strippedPath, blob, identifier: 'tool' });
    const builtPath = await writeSample('built-executable', 'signed executable');
    const signature = { kind: 'adhoc' as const, identifier: 'tool', cdhash: 'c'.repeat(40) };
    await outputs.store({ kind: 'executable', inputs, filePath: builtPath, sha256: sha256Bytes('signed executable'), label: 'executable', extra: { signature, warnings: ['a postject warning'] } });
    return { target, strippedPath, blob, signature };
  }

  it('reuses an executable of the same inputs', async () => {
    const events: BuildEvent[] = [];
    const { outputs } = outputCache(events);
    const stored = await storedExecutable(outputs);
    const executablePath = path.join(workDir, 'tool-darwin-arm64');

    const written = await writeInjectedExecutable({ ...stored, executablePath, identifier: 'tool', windowsSigned: false, outputs, stage: unusedStage, report: (event) => events.push(event) });

    expect(written.signature).toEqual(stored.signature);
    expect(written.sha256).toBe(sha256Bytes('signed executable'));
    expect(await readFile(executablePath, 'utf8')).toBe('signed executable');
    expect((await stat(executablePath)).mode & 0o777).toBe(0o755);
    expect(infoMessages(events)[0]).toMatch(/^reused the injected and signed executable from the cache/);
    expect(events.some((event) => event.kind === 'warning' && event.message === 'postject: a postject warning')).toBe(true);
  });

  it('misses for another blob', async () => {
    const { outputs } = outputCache();
    const stored = await storedExecutable(outputs);
    const blob = { blob: Buffer.from('other blob'), blobPath: await writeSample('other.blob', 'other blob') };
    const executablePath = path.join(workDir, 'tool-darwin-arm64');
    const stages: string[] = [];
    const recordingStage = <T>(name: string, _work: () => Promise<T>): Promise<T> => {
      stages.push(name);
      throw new Error('stopped at the first stage');
    };

    const attempt = writeInjectedExecutable({ ...stored, blob, executablePath, identifier: 'tool', windowsSigned: false, outputs, stage: recordingStage, report: () => undefined });

    await expect(attempt).rejects.toThrow('stopped at the first stage');
    expect(stages).toEqual(['unsign']);
  });

  it('misses for a signing identity', async () => {
    const { outputs } = outputCache();
    const stored = await storedExecutable(outputs);
    const executablePath = path.join(workDir, 'tool-darwin-arm64');
    await chmod(stored.strippedPath, 0o644);
    const stages: string[] = [];
    const recordingStage = <T>(name: string, _work: () => Promise<T>): Promise<T> => {
      stages.push(name);
      throw new Error('stopped at the first stage');
    };

    const attempt = writeInjectedExecutable({ ...stored, executablePath, identifier: 'tool', macosSignIdentity: 'Developer ID Application: X', windowsSigned: false, outputs, stage: recordingStage, report: () => undefined });

    await expect(attempt).rejects.toThrow('stopped at the first stage');
    expect(stages).toEqual(['unsign']);
  });
});

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCorpus } from '../../src/conformance/corpus.js';
import { executableCacheKey, pruneExecutableCache } from '../../src/conformance/executable.js';

const [FIGLET] = parseCorpus([{ name: 'figlet', spec: 'figlet@1.12.0', bin: 'figlet', traits: [], commands: [{ args: [] }] }], 'corpus.json');

/** Writes a cached result of one source hash, last used `ageMs` ago, and returns its folder. */
async function cachedEntry(cacheDir: string, name: string, sourceHash: string, ageMs: number): Promise<string> {
  const folder = path.join(cacheDir, 'conformance', 'executables', name);
  await mkdir(folder, { recursive: true });
  const resultFile = path.join(folder, 'result.json');
  await writeFile(resultFile, JSON.stringify({ inputs: { sourceHash }, executableFile: 'figlet-linux-x64' }));
  await writeFile(path.join(folder, 'figlet-linux-x64'), 'binary');
  const usedAt = new Date(Date.now() - ageMs);
  await utimes(resultFile, usedAt, usedAt);
  return folder;
}

describe('executableCacheKey', () => {
  const base = { entry: FIGLET, target: 'linux-x64', nodeVersion: '26.10.0', sourceHash: 'a'.repeat(64) };

  it('is stable for the same inputs', () => {
    expect(executableCacheKey(base).key).toBe(executableCacheKey({ ...base }).key);
  });

  it('changes with each input', () => {
    const keys = new Set([
      executableCacheKey(base).key,
      executableCacheKey({ ...base, target: 'linux-arm64' }).key,
      executableCacheKey({ ...base, nodeVersion: '22.23.3' }).key,
      executableCacheKey({ ...base, sourceHash: 'b'.repeat(64) }).key,
      executableCacheKey({ ...base, entry: { ...FIGLET, extraSpecs: ['figlet-fonts@1.0.0'] } }).key,
      executableCacheKey({ ...base, entry: { ...FIGLET, bin: 'other' } }).key,
    ]);
    expect(keys.size).toBe(6);
  });
});

describe('pruneExecutableCache', () => {
  it('keeps the current and the last other code version', async () => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-prune-'));
    const current = await cachedEntry(cacheDir, 'current', 'current-hash', 60_000_000);
    const recent = await cachedEntry(cacheDir, 'recent', 'recent-hash', 1_000);
    const old = await cachedEntry(cacheDir, 'old', 'old-hash', 5_000_000);
    const older = await cachedEntry(cacheDir, 'older', 'older-hash', 9_000_000);

    expect(await pruneExecutableCache({ cacheDir, currentSourceHash: 'current-hash' })).toBe(2);
    expect(existsSync(current)).toBe(true);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(older)).toBe(false);
  });

  it('does nothing without a cache folder', async () => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-prune-'));
    expect(await pruneExecutableCache({ cacheDir, currentSourceHash: 'current-hash' })).toBe(0);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFlags, toolCodeHash } from '../../src/build.js';

const DEFAULTS = { keepPatterns: [], keepSourceMaps: false, minify: false, codeCache: true, nodeOptions: [] };

describe('buildFlags', () => {
  it('is empty for the defaults', () => {
    expect(buildFlags(DEFAULTS)).toEqual([]);
  });

  it('lists each option that changes the executable', () => {
    expect(buildFlags({ ...DEFAULTS, keepPatterns: ['**/*.md'], keepSourceMaps: true, minify: true, codeCache: false })).toEqual([
      '--keep **/*.md',
      '--keep-source-maps',
      '--minify',
      '--no-code-cache',
    ]);
  });

  it('sorts keep patterns and drops repeats', () => {
    expect(buildFlags({ ...DEFAULTS, keepPatterns: ['*.map', '*.d.ts', '*.map'] })).toEqual(['--keep *.d.ts', '--keep *.map']);
  });

  it('records the ICU languages as one flag', () => {
    expect(buildFlags({ ...DEFAULTS, icuLanguages: ['de', 'en'] })).toEqual(['--icu-locales de,en']);
  });

  it('leaves out source maps kept by --enable-source-maps', () => {
    expect(buildFlags({ ...DEFAULTS, keepSourceMaps: true, nodeOptions: ['--enable-source-maps'] })).toEqual([]);
  });
});

describe('toolCodeHash', () => {
  it('changes when a file of the code changes', async () => {
    const libDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-code-hash-'));
    try {
      mkdirSync(path.join(libDir, 'stages'));
      writeFileSync(path.join(libDir, 'stages', 'inject.js'), 'export const a = 1;');
      const before = await toolCodeHash(libDir);
      writeFileSync(path.join(libDir, 'stages', 'inject.js'), 'export const a = 2;');

      expect(await toolCodeHash(libDir)).not.toBe(before);
    } finally {
      rmSync(libDir, { recursive: true, force: true });
    }
  });
});

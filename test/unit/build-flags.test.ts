import { describe, expect, it } from 'vitest';
import { buildFlags } from '../../src/build.js';

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

  it('leaves out source maps kept by --enable-source-maps', () => {
    expect(buildFlags({ ...DEFAULTS, keepSourceMaps: true, nodeOptions: ['--enable-source-maps'] })).toEqual([]);
  });
});

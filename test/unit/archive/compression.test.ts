import { describe, expect, it } from 'vitest';
import {
  MAX_XZ_DICTIONARY_BYTES,
  XZ_ARGUMENTS,
  usesX86Filter,
  xzArgumentsFor,
  xzDictionaryBytes,
} from '../../../src/archive/compression.js';
import { allTargets, findTarget } from '../../../src/targets.js';

const MIB = 1024 * 1024;

describe('xzDictionaryBytes', () => {
  it.each([
    [0, 4 * 1024],
    [1, 4 * 1024],
    [4 * 1024, 4 * 1024],
    [4 * 1024 + 1, 8 * 1024],
    [8 * MIB, 8 * MIB],
    [8 * MIB + 1, 16 * MIB],
    [33 * MIB, 64 * MIB],
  ])('holds an input of %i bytes in %i bytes', (inputBytes, dictionaryBytes) => {
    expect(xzDictionaryBytes(inputBytes)).toBe(dictionaryBytes);
  });

  it('stops at the maximum', () => {
    expect(xzDictionaryBytes(217_834_800)).toBe(MAX_XZ_DICTIONARY_BYTES);
  });
});

describe('usesX86Filter', () => {
  it.each(['linux-x64', 'darwin-x64', 'win-x64'])('filters %s', (id) => {
    expect(usesX86Filter(findTarget(id))).toBe(true);
  });

  it.each(['linux-x64-musl', 'linux-arm64', 'linux-arm64-musl', 'darwin-arm64', 'win-arm64'])('leaves %s unfiltered', (id) => {
    expect(usesX86Filter(findTarget(id))).toBe(false);
  });

  it('leaves an unknown target unfiltered', () => {
    expect(usesX86Filter(undefined)).toBe(false);
  });
});

describe('xzArgumentsFor', () => {
  it('adds the x86 filter before LZMA2', () => {
    const args = xzArgumentsFor({ target: findTarget('linux-x64'), inputBytes: 126_117_660 });
    expect(args).toEqual([...XZ_ARGUMENTS, '--x86', '--lzma2=preset=6,dict=64MiB']);
  });

  it('omits the filter for arm64', () => {
    const args = xzArgumentsFor({ target: findTarget('darwin-arm64'), inputBytes: 117_643_284 });
    expect(args).toEqual([...XZ_ARGUMENTS, '--lzma2=preset=6,dict=64MiB']);
  });

  it('omits the filter without a target', () => {
    expect(xzArgumentsFor({ inputBytes: 10 * MIB })).toEqual([...XZ_ARGUMENTS, '--lzma2=preset=6,dict=16MiB']);
  });

  it('writes small dictionaries in KiB', () => {
    expect(xzArgumentsFor({ inputBytes: 5000 }).at(-1)).toBe('--lzma2=preset=6,dict=8KiB');
  });

  it.each(allTargets().map((target) => target.id))('keeps one thread for %s', (id) => {
    expect(xzArgumentsFor({ target: findTarget(id), inputBytes: 100 * MIB })).toContain('--threads=1');
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBuildCacheDir, userCacheRoot } from '../../src/defaults.js';

describe('userCacheRoot on linux', () => {
  it('uses an absolute XDG_CACHE_HOME', () => {
    expect(userCacheRoot({ env: { XDG_CACHE_HOME: '/var/cache/ann' }, platform: 'linux', homeDir: '/home/ann' })).toBe('/var/cache/ann');
  });

  it('ignores a relative XDG_CACHE_HOME', () => {
    expect(userCacheRoot({ env: { XDG_CACHE_HOME: 'cache' }, platform: 'linux', homeDir: '/home/ann' })).toBe('/home/ann/.cache');
  });

  it('uses ~/.cache without XDG_CACHE_HOME', () => {
    expect(userCacheRoot({ env: {}, platform: 'linux', homeDir: '/home/ann' })).toBe('/home/ann/.cache');
  });

  it('ignores an empty XDG_CACHE_HOME', () => {
    expect(userCacheRoot({ env: { XDG_CACHE_HOME: '' }, platform: 'linux', homeDir: '/home/ann' })).toBe('/home/ann/.cache');
  });

  it('returns undefined without a home folder', () => {
    expect(userCacheRoot({ env: {}, platform: 'linux', homeDir: '' })).toBeUndefined();
  });

  it('treats other Unix systems like linux', () => {
    expect(userCacheRoot({ env: {}, platform: 'freebsd', homeDir: '/home/ann' })).toBe('/home/ann/.cache');
  });
});

describe('userCacheRoot on darwin', () => {
  it('uses ~/Library/Caches', () => {
    expect(userCacheRoot({ env: {}, platform: 'darwin', homeDir: '/Users/ann' })).toBe('/Users/ann/Library/Caches');
  });

  it('ignores XDG_CACHE_HOME', () => {
    expect(userCacheRoot({ env: { XDG_CACHE_HOME: '/tmp/xdg' }, platform: 'darwin', homeDir: '/Users/ann' })).toBe('/Users/ann/Library/Caches');
  });

  it('returns undefined without a home folder', () => {
    expect(userCacheRoot({ env: {}, platform: 'darwin', homeDir: '' })).toBeUndefined();
  });
});

describe('userCacheRoot on win32', () => {
  it('uses LOCALAPPDATA', () => {
    const env = { LOCALAPPDATA: 'D:\\Profiles\\ann\\Local' };

    expect(userCacheRoot({ env, platform: 'win32', homeDir: 'C:\\Users\\ann' })).toBe('D:\\Profiles\\ann\\Local');
  });

  it('uses AppData\\Local in the home folder without LOCALAPPDATA', () => {
    expect(userCacheRoot({ env: {}, platform: 'win32', homeDir: 'C:\\Users\\ann' })).toBe('C:\\Users\\ann\\AppData\\Local');
  });

  it('returns undefined without LOCALAPPDATA or a home folder', () => {
    expect(userCacheRoot({ env: {}, platform: 'win32', homeDir: '' })).toBeUndefined();
  });
});

describe('defaultBuildCacheDir', () => {
  it('prefers DUO_SEA_CACHE', () => {
    const env = { DUO_SEA_CACHE: '/srv/duo-cache', XDG_CACHE_HOME: '/var/cache/ann' };

    expect(defaultBuildCacheDir({ env, platform: 'linux', homeDir: '/home/ann' })).toBe('/srv/duo-cache');
  });

  it('uses duo-sea in XDG_CACHE_HOME on linux', () => {
    expect(defaultBuildCacheDir({ env: { XDG_CACHE_HOME: '/var/cache/ann' }, platform: 'linux', homeDir: '/home/ann' })).toBe('/var/cache/ann/duo-sea');
  });

  it('uses duo-sea in ~/.cache on linux', () => {
    expect(defaultBuildCacheDir({ env: {}, platform: 'linux', homeDir: '/home/ann' })).toBe('/home/ann/.cache/duo-sea');
  });

  it('uses duo-sea in ~/Library/Caches on darwin', () => {
    expect(defaultBuildCacheDir({ env: {}, platform: 'darwin', homeDir: '/Users/ann' })).toBe('/Users/ann/Library/Caches/duo-sea');
  });

  it('joins with backslashes on win32', () => {
    const env = { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' };

    expect(defaultBuildCacheDir({ env, platform: 'win32', homeDir: 'C:\\Users\\ann' })).toBe('C:\\Users\\ann\\AppData\\Local\\duo-sea');
  });

  it('uses .cache/duo-sea in the working directory without a home folder', () => {
    expect(defaultBuildCacheDir({ env: {}, platform: 'linux', homeDir: '' })).toBe(path.join(process.cwd(), '.cache', 'duo-sea'));
  });
});

import { describe, expect, it } from 'vitest';
import { lockedPackages, lockfileInKit, pointLockfileAt, type PackageLock } from '../../../src/kit/lockfile.js';

/** Returns a package-lock.json as npm 11 writes it for a program tarball with one registry dependency, one alias and one platform package. */
function sampleLock(): PackageLock {
  return {
    name: 'duo-sea-install',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'duo-sea-install', dependencies: { tool: 'file:/tmp/work/tool-1.0.0.tgz', extra: '^2.0.0' } },
      'node_modules/tool': { version: '1.0.0', resolved: 'file:../tool-1.0.0.tgz', integrity: 'sha512-tool', dependencies: { dep: '^1.0.0' } },
      'node_modules/dep': { version: '1.2.0', integrity: 'sha512-dep' },
      'node_modules/extra': { version: '2.0.1', resolved: 'https://registry.npmjs.org/extra/-/extra-2.0.1.tgz', integrity: 'sha512-extra' },
      'node_modules/alias': { name: '@scope/real', version: '3.0.0', integrity: 'sha512-real' },
      'node_modules/@tool/win32-x64': { version: '1.0.0', integrity: 'sha512-win', optional: true, os: ['win32'], cpu: ['x64'] },
    },
  };
}

const KIT_FILES = new Map([
  ['tool@1.0.0', 'packages/tool-1.0.0.tgz'],
  ['dep@1.2.0', 'packages/dep-1.2.0.tgz'],
  ['extra@2.0.1', 'packages/extra-2.0.1.tgz'],
  ['@scope/real@3.0.0', 'packages/scope-real-3.0.0.tgz'],
]);

describe('lockedPackages', () => {
  it('lists packages without the project', () => {
    expect(lockedPackages(sampleLock()).map((item) => `${item.name}@${item.version}`)).toEqual(['tool@1.0.0', 'dep@1.2.0', 'extra@2.0.1', '@scope/real@3.0.0', '@tool/win32-x64@1.0.0']);
  });

  it('takes an alias by its real name', () => {
    expect(lockedPackages(sampleLock()).find((item) => item.location === 'node_modules/alias')?.name).toBe('@scope/real');
  });
});

describe('pointLockfileAt', () => {
  it('resolves kit packages to kit paths', () => {
    const lock = pointLockfileAt(sampleLock(), KIT_FILES, '');

    expect(lock.packages['node_modules/dep'].resolved).toBe('file:packages/dep-1.2.0.tgz');
    expect(lock.packages['node_modules/extra'].resolved).toBe('file:packages/extra-2.0.1.tgz');
    expect(lock.packages['node_modules/alias'].resolved).toBe('file:packages/scope-real-3.0.0.tgz');
  });

  it('points the project file dependency at the kit', () => {
    const lock = pointLockfileAt(sampleLock(), KIT_FILES, '');

    expect(lock.packages[''].dependencies).toEqual({ tool: 'file:packages/tool-1.0.0.tgz', extra: '^2.0.0' });
  });

  it('leaves packages the kit lacks alone', () => {
    const lock = pointLockfileAt(sampleLock(), KIT_FILES, '');

    expect(lock.packages['node_modules/@tool/win32-x64']).toEqual(sampleLock().packages['node_modules/@tool/win32-x64']);
  });

  it('keeps the caller lockfile unchanged', () => {
    const input = sampleLock();

    pointLockfileAt(input, KIT_FILES, '');

    expect(input).toEqual(sampleLock());
  });
});

describe('lockfileInKit', () => {
  it('makes kit paths absolute', () => {
    const lock = lockfileInKit(pointLockfileAt(sampleLock(), KIT_FILES, ''), '/media/kit');

    expect(lock.packages['node_modules/dep'].resolved).toBe('file:/media/kit/packages/dep-1.2.0.tgz');
    expect(lock.packages[''].dependencies?.tool).toBe('file:/media/kit/packages/tool-1.0.0.tgz');
  });

  it('leaves paths outside the kit alone', () => {
    const lock = sampleLock();
    lock.packages['node_modules/dep'].resolved = 'file:../outside.tgz';

    expect(lockfileInKit(lock, '/media/kit').packages['node_modules/dep'].resolved).toBe('file:../outside.tgz');
  });
});

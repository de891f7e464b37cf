import { describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { tarballFileName, requiredPackage } from '../../../src/kit/packages.js';

const installed = { location: 'node_modules/dep', name: 'dep', version: '1.2.0', integrity: 'sha512-dep', link: false };

describe('requiredPackage', () => {
  it('takes a package without resolved from the registry', () => {
    expect(requiredPackage(installed, '/work/install').from).toEqual({ registry: 'dep@1.2.0' });
  });

  it('takes a registry tarball URL from the registry', () => {
    const item = { ...installed, resolved: 'https://npm.example.internal/repository/npm/dep/-/dep-1.2.0.tgz' };

    expect(requiredPackage(item, '/work/install').from).toEqual({ registry: 'dep@1.2.0' });
  });

  it('copies a file tarball relative to the install folder', () => {
    const item = { ...installed, resolved: 'file:../../dep-1.2.0.tgz' };

    expect(requiredPackage(item, '/work/install/linux-x64').from).toEqual({ file: '/work/dep-1.2.0.tgz' });
  });

  it('rejects a git dependency', () => {
    const item = { ...installed, resolved: 'git+ssh://git@github.com/owner/dep.git#0123456789abcdef0123456789abcdef01234567' };

    expect(() => requiredPackage(item, '/work/install')).toThrow(DuoSeaError);
    expect(() => requiredPackage(item, '/work/install')).toThrow(expect.objectContaining({ code: 'E_PACKAGE_INVALID', input: 'dep@1.2.0' }));
  });

  it('rejects a linked folder', () => {
    expect(() => requiredPackage({ ...installed, link: true, resolved: '../dep' }, '/work/install')).toThrow(expect.objectContaining({ code: 'E_PACKAGE_INVALID' }));
  });
});

describe('tarballFileName', () => {
  it('names a scoped package as npm pack does', () => {
    expect(tarballFileName('@esbuild/linux-x64', '0.28.2')).toBe('esbuild-linux-x64-0.28.2.tgz');
  });

  it('names an unscoped package as npm pack does', () => {
    expect(tarballFileName('commander', '12.1.0')).toBe('commander-12.1.0.tgz');
  });
});

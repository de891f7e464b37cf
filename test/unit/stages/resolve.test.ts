import { describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { chooseBin, unscopedName, type PackageManifest } from '../../../src/stages/resolve.js';

function manifest(name: string, bin: PackageManifest['bin']): PackageManifest {
  return { name, version: '1.2.3', bin };
}

/** Returns the DuoSeaError that `call` throws, failing the test when it throws nothing or something else. */
function thrownBy(call: () => unknown): DuoSeaError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(DuoSeaError);
    return error as DuoSeaError;
  }
  throw new Error('expected a DuoSeaError, but nothing was thrown');
}

describe('unscopedName', () => {
  it('drops the scope', () => {
    expect(unscopedName('@anthropic-ai/sandbox-runtime')).toBe('sandbox-runtime');
  });

  it('keeps an unscoped name', () => {
    expect(unscopedName('srt')).toBe('srt');
  });
});

describe('chooseBin', () => {
  it('names a string bin after the unscoped package', () => {
    expect(chooseBin(manifest('@scope/srt', './cli.js'), undefined)).toEqual({ name: 'srt', scriptPath: 'cli.js' });
  });

  it('takes the only entry', () => {
    expect(chooseBin(manifest('package', { tool: 'bin/tool.js' }), undefined)).toEqual({ name: 'tool', scriptPath: 'bin/tool.js' });
  });

  it('prefers the entry named like the unscoped package', () => {
    const choice = chooseBin(manifest('@scope/srt', { 'srt-helper': 'dist/helper.js', srt: 'dist/cli.js' }), undefined);

    expect(choice).toEqual({ name: 'srt', scriptPath: 'dist/cli.js' });
  });

  it('takes the requested entry', () => {
    const choice = chooseBin(manifest('package', { first: 'a.js', second: 'b.js' }), 'second');

    expect(choice).toEqual({ name: 'second', scriptPath: 'b.js' });
  });

  it('normalizes ./dist/cli.js to dist/cli.js', () => {
    expect(chooseBin(manifest('package', { package: './dist/cli.js' }), undefined).scriptPath).toBe('dist/cli.js');
  });

  it('turns backslashes into slashes', () => {
    expect(chooseBin(manifest('package', '.\\dist\\cli.js'), undefined).scriptPath).toBe('dist/cli.js');
  });

  it('rejects several entries with no obvious one', () => {
    const error = thrownBy(() => chooseBin(manifest('@scope/tools', { lint: 'lint.js', format: 'format.js' }), undefined));

    expect(error.code).toBe('E_AMBIGUOUS_BIN');
    expect(error.stage).toBe('resolve');
    expect(error.input).toBe('@scope/tools@1.2.3');
    expect(error.expected).toBe('lint, format');
    expect(error.message).toContain('none is named "tools"');
    expect(error.hint).toBe('Pass --bin with one of: lint, format.');
  });

  it('rejects a requested name that is not there', () => {
    const error = thrownBy(() => chooseBin(manifest('package', { lint: 'lint.js', format: 'format.js' }), 'test'));

    expect(error.code).toBe('E_UNKNOWN_BIN');
    expect(error.input).toBe('test');
    expect(error.message).toBe('The package package has no bin named "test".');
    expect(error.hint).toBe('Pass --bin with one of: lint, format.');
  });

  it('rejects a package without bin', () => {
    const error = thrownBy(() => chooseBin(manifest('library', undefined), undefined));

    expect(error.code).toBe('E_NO_BIN');
    expect(error.input).toBe('library@1.2.3');
    expect(error.hint).toBe('Package a program that declares "bin" in its package.json.');
  });

  it('rejects an empty bin object', () => {
    expect(thrownBy(() => chooseBin(manifest('library', {}), undefined)).code).toBe('E_NO_BIN');
  });

  it('rejects a requested name when there is no bin', () => {
    expect(thrownBy(() => chooseBin(manifest('library', undefined), 'library')).code).toBe('E_NO_BIN');
  });

  // The name becomes the executable's file name in the output folder. npm (npm-normalize-package-bin 5.0.0) keeps only
  // the base name of each bin key, so `../../evil` installs as `evil`; chooseBin keeps the separators.
  it('reduces a bin key to its base name', () => {
    expect(chooseBin(manifest('package', { '../../evil': 'cli.js' }), undefined).name).toBe('evil');
  });

  // npm resolves each bin target inside the package (join('/', target)), so `../outside.js` installs as `outside.js`.
  it('keeps the script path inside the package', () => {
    expect(chooseBin(manifest('package', { package: '../outside.js' }), undefined).scriptPath).toBe('outside.js');
  });
});

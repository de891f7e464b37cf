import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_CHECKSUMS_DIR } from '../../src/checksums.js';
import { DEFAULT_NODE_VERSION } from '../../src/defaults.js';
import { DuoSeaError } from '../../src/errors.js';
import { normalizeOptions, type BuildOptions } from '../../src/options.js';

const CWD = path.join(os.tmpdir(), 'duo-sea-options-project');
const ALL_IDS = 'darwin-arm64, darwin-x64, linux-arm64, linux-arm64-musl, linux-x64, linux-x64-musl, win-arm64, win-x64';

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

describe('normalizeOptions defaults', () => {
  it('fills in every default', () => {
    const options = normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD, env: { DUO_SEA_CACHE: '/srv/cache' } });

    expect(options).toMatchObject({
      spec: 'srt@1.0.0',
      bin: undefined,
      requestedTargets: undefined,
      nodeVersion: DEFAULT_NODE_VERSION,
      outDir: path.join(CWD, 'dist'),
      cacheDir: '/srv/cache',
      checksumsDir: BUNDLED_CHECKSUMS_DIR,
      ignoreEngines: false,
      withSpecs: [],
      cwd: CWD,
      host: { platform: process.platform, arch: process.arch },
    });
    expect(typeof options.report).toBe('function');
  });

  it('dates archive entries 1985-10-26 without SOURCE_DATE_EPOCH', () => {
    const options = normalizeOptions({ spec: 'srt', cwd: CWD, env: {} });

    expect(options.mtime.toISOString()).toBe('1985-10-26T08:15:00.000Z');
  });

  it('resolves relative folders against cwd', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-options-'));
    mkdirSync(path.join(cwd, 'sums'));

    const options = normalizeOptions({ spec: 'srt', cwd, env: { DUO_SEA_CACHE: 'cache' }, outDir: 'out/bin', checksumsDir: 'sums' });

    expect(options.outDir).toBe(path.join(cwd, 'out', 'bin'));
    expect(options.cacheDir).toBe(path.join(cwd, 'cache'));
    expect(options.checksumsDir).toBe(path.join(cwd, 'sums'));
    rmSync(cwd, { recursive: true, force: true });
  });

  it('rejects a checksums folder that does not exist', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, checksumsDir: 'no-such-sums' }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toContain(path.join(CWD, 'no-such-sums'));
    expect(error.hint).toContain('--checksums');
  });

  it.skipIf(process.platform !== 'linux')('puts the cache in XDG_CACHE_HOME from the given env on linux', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: { XDG_CACHE_HOME: '/var/cache/build' } }).cacheDir).toBe('/var/cache/build/duo-sea');
  });

  it('takes cacheDir over DUO_SEA_CACHE', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: { DUO_SEA_CACHE: '/srv/cache' }, cacheDir: '/opt/cache' }).cacheDir).toBe('/opt/cache');
  });
});

describe('normalizeOptions node version', () => {
  it('accepts a leading v', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, nodeVersion: 'v22.23.3' }).nodeVersion).toBe('22.23.3');
  });

  it('rejects a version that is not x.y.z', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, nodeVersion: '26' }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.stage).toBe('options');
    expect(error.input).toBe('--node 26');
    expect(error.message).toBe('"26" is not a Node version.');
    expect(error.hint).toBe('Pass an exact version such as 26.10.0.');
  });

  it('rejects a version range', () => {
    expect(thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, nodeVersion: '^26.10.0' })).input).toBe('--node ^26.10.0');
  });

  it('rejects Node below 22', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, nodeVersion: '21.7.3' }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe('--node 21.7.3');
    expect(error.message).toContain('duo-sea supports Node 22 and later');
    expect(error.hint).toBe('Pass --node 22.23.3 or newer.');
  });

  it('accepts Node 22.0.0', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, nodeVersion: '22.0.0' }).nodeVersion).toBe('22.0.0');
  });
});

describe('normalizeOptions targets', () => {
  it('looks up requested targets once each', () => {
    const options = normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, targets: ['win-x64', 'linux-arm64', 'win-x64'] });

    expect(options.requestedTargets?.map((target) => target.id)).toEqual(['win-x64', 'linux-arm64']);
  });

  it('treats an empty list as every target', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, targets: [] }).requestedTargets).toBeUndefined();
  });

  it('rejects an unknown target and lists the ids', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, targets: ['linux-x64', 'linux-s390x'] }));

    expect(error.code).toBe('E_UNKNOWN_TARGET');
    expect(error.input).toBe('linux-s390x');
    expect(error.hint).toBe(`Use one of: ${ALL_IDS}.`);
  });
});

describe('normalizeOptions other checks', () => {
  it('rejects an empty package spec', () => {
    const error = thrownBy(() => normalizeOptions({ spec: '  ', cwd: CWD, env: {} }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.hint).toBe('Pass an npm spec such as name@version, a .tgz or a package folder.');
  });

  it('rejects an empty macOS signing identity', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt', cwd: CWD, env: {}, macosSignIdentity: ' ' }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe('--macos-sign-identity ""');
  });

  it('honours SOURCE_DATE_EPOCH', () => {
    expect(normalizeOptions({ spec: 'srt', cwd: CWD, env: { SOURCE_DATE_EPOCH: '1700000000' } }).mtime.getTime()).toBe(1_700_000_000_000);
  });

  it('takes sourceDateEpochSeconds over SOURCE_DATE_EPOCH', () => {
    const options = normalizeOptions({ spec: 'srt', cwd: CWD, env: { SOURCE_DATE_EPOCH: '1700000000' }, sourceDateEpochSeconds: 86_400 });

    expect(options.mtime.getTime()).toBe(86_400_000);
  });

  it('does not change the caller object', () => {
    const input: BuildOptions = {
      spec: 'srt@1.0.0',
      bin: 'srt',
      targets: ['linux-x64', 'linux-x64'],
      nodeVersion: 'v26.10.0',
      outDir: 'out',
      withSpecs: ['peer@2'],
      cwd: CWD,
      env: { SOURCE_DATE_EPOCH: '1700000000', DUO_SEA_CACHE: 'cache' },
    };
    const copy = structuredClone(input);

    const options = normalizeOptions(input);

    expect(input).toEqual(copy);
    expect(options.withSpecs).toEqual(['peer@2']);
  });
});

describe('normalizeOptions --out inside a package folder', () => {
  const packageDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-options-package-'));

  it('rejects the default --out inside the folder', () => {
    const error = thrownBy(() => normalizeOptions({ spec: '.', cwd: packageDir }));
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe(`--out ${path.join(packageDir, 'dist')}`);
    expect(error.hint).toContain(`Pass --out with a folder outside ${packageDir}`);
  });

  it('rejects an absolute folder spec', () => {
    const error = thrownBy(() => normalizeOptions({ spec: packageDir, outDir: path.join(packageDir, 'release', 'v1'), cwd: CWD }));
    expect(error.code).toBe('E_INVALID_OPTION');
  });

  it('accepts --out beside the folder', () => {
    const options = normalizeOptions({ spec: '.', outDir: '../release', cwd: packageDir });
    expect(options.outDir).toBe(path.join(path.dirname(packageDir), 'release'));
  });

  it('accepts a sibling with the folder name as prefix', () => {
    const options = normalizeOptions({ spec: packageDir, outDir: `${packageDir}-dist`, cwd: CWD });
    expect(options.outDir).toBe(`${packageDir}-dist`);
  });

  it('accepts an npm spec', () => {
    const options = normalizeOptions({ spec: 'figlet@1.8.0', cwd: packageDir });
    expect(options.outDir).toBe(path.join(packageDir, 'dist'));
  });

  afterAll(() => rmSync(packageDir, { recursive: true, force: true }));
});

describe('normalizeOptions payload trimming', () => {
  it('leaves source maps out by default', () => {
    expect(normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD }).keepSourceMaps).toBe(false);
  });

  it('keeps source maps with --keep-source-maps', () => {
    expect(normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD, keepSourceMaps: true }).keepSourceMaps).toBe(true);
  });

  it('keeps source maps with --enable-source-maps', () => {
    expect(normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD, nodeOptions: ['--enable-source-maps'] }).keepSourceMaps).toBe(true);
  });

  it('copies the keep patterns', () => {
    const keepPatterns = ['*.d.ts'];
    const options = normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD, keepPatterns });

    expect(options.keepPatterns).toEqual(['*.d.ts']);
    expect(options.keepPatterns).not.toBe(keepPatterns);
  });

  it('rejects an empty --keep pattern', () => {
    const error = thrownBy(() => normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD, keepPatterns: [''] }));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.hint).toContain('--keep');
  });

  it('leaves minifying off by default', () => {
    expect(normalizeOptions({ spec: 'srt@1.0.0', cwd: CWD }).minify).toBe(false);
  });
});

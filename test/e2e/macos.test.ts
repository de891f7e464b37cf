import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuildCacheDir } from '../../src/defaults.js';
import { runVerifier } from '../unit/formats/macho-fixtures.js';
import { removeTempDirs, runCli, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const BUILD_TIMEOUT_MS = 900_000;
const TARGETS = ['darwin-x64', 'darwin-arm64'];

interface ManifestTarget {
  id: string;
  base: { sha256: string };
  signature?: { kind: string; identifier: string; cdhash: string };
}

/** LC_CODE_SIGNATURE and __LINKEDIT as llvm-objdump prints them. */
function objdumpLayout(file: string): { dataoff: number; datasize: number; linkeditFileoff: number; linkeditFilesize: number } {
  const result = spawnSync('llvm-objdump', ['--macho', '--private-headers', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`llvm-objdump failed: ${result.stderr}`);
  const signature = /cmd LC_CODE_SIGNATURE\n\s+cmdsize 16\n\s+dataoff (\d+)\n\s+datasize (\d+)/.exec(result.stdout);
  const linkedit = /segname __LINKEDIT\n(?:.*\n){2}\s+fileoff (\d+)\n\s+filesize (\d+)/.exec(result.stdout);
  if (!signature || !linkedit) throw new Error(`llvm-objdump shows no LC_CODE_SIGNATURE or __LINKEDIT in ${file}`);
  return { dataoff: Number(signature[1]), datasize: Number(signature[2]), linkeditFileoff: Number(linkedit[1]), linkeditFilesize: Number(linkedit[2]) };
}

/** Returns the exported napi_ symbols that a file defines, sorted. */
function napiSymbols(file: string): string[] {
  const result = spawnSync('llvm-nm', ['--extern-only', '--defined-only', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`llvm-nm failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .map((line) => line.split(' ').pop() ?? '')
    .filter((name) => name.startsWith('_napi_'))
    .sort();
}

describe('srt for macOS', () => {
  let outDir: string;
  let stderr: string;
  let manifest: { targets: ManifestTarget[] };

  beforeAll(async () => {
    const workDir = tempDir('e2e-macos');
    outDir = path.join(workDir, 'dist');
    const args = ['build', SRT_SPEC, ...TARGETS.flatMap((target) => ['--target', target]), '--archive', 'tar.gz', '--out', outDir];
    const result = await runCli(args, { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
    stderr = result.stderr;
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    manifest = JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as { targets: ManifestTarget[] };
  }, BUILD_TIMEOUT_MS);

  it('builds without warnings', () => {
    expect(stderr).not.toMatch(/not signed/);
    expect(stderr).not.toMatch(/warning/i);
  });

  for (const target of TARGETS) {
    describe(target, () => {
      const executable = (): string => path.join(outDir, `srt-${target}`);

      it('passes the independent verifier', () => {
        const result = runVerifier([executable()], { requireAdhoc: true });

        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.reports[0]?.flags).toBe('0x2');
        expect(result.reports[0]?.identifier).toBe('srt');
        expect(result.reports[0]?.codeLimit).toBe(result.reports[0]?.signatureOffset);
        expect(result.reports[0]?.pageCount).toBe(Math.ceil(Number(result.reports[0]?.codeLimit) / 4096));
      });

      it('places the signature as llvm-objdump reads it', () => {
        const layout = objdumpLayout(executable());
        const report = runVerifier([executable()], { requireAdhoc: true }).reports[0];
        const fileSize = statSync(executable()).size;

        expect(layout.dataoff).toBe(report?.signatureOffset);
        expect(layout.datasize).toBe(report?.signatureSize);
        expect(layout.dataoff % 16).toBe(0);
        expect(layout.linkeditFileoff).toBeLessThanOrEqual(layout.dataoff);
        expect(layout.linkeditFileoff + layout.linkeditFilesize).toBe(layout.dataoff + layout.datasize);
        expect(layout.dataoff + layout.datasize).toBe(fileSize);
      });

      it('records the signature in the manifest', () => {
        const entry = manifest.targets.find((candidate) => candidate.id === target);
        const report = runVerifier([executable()], { requireAdhoc: true }).reports[0];

        expect(entry?.signature).toEqual({ kind: 'adhoc', identifier: 'srt', cdhash: report?.cdhash });
      });

      it('keeps the napi symbols of node', () => {
        const baseSha256 = manifest.targets.find((candidate) => candidate.id === target)!.base.sha256;
        const cacheDir = defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
        const base = path.join(cacheDir, 'sha256', baseSha256.slice(0, 2), baseSha256);
        const expected = napiSymbols(base);

        expect(expected.length).toBeGreaterThan(100);
        expect(napiSymbols(executable())).toEqual(expected);
      }, 120_000);
    });
  }
});

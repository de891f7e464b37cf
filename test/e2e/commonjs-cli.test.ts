import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmInstall, removeTempDirs, runCli, runIsolated, tempDir } from './helpers.js';

afterAll(removeTempDirs);

// json@11.0.0 is a CommonJS CLI that runs only when `require.main === module`.
const JSON_SPEC = 'json@11.0.0';
const BUILD_TIMEOUT_MS = 600_000;

describe('json, a CommonJS CLI', () => {
  let executable: string;
  let referenceCli: string;

  beforeAll(async () => {
    referenceCli = path.join(npmInstall(JSON_SPEC), 'node_modules', 'json', 'lib', 'json.js');
    const workDir = tempDir('e2e-json');
    const outDir = path.join(workDir, 'dist');
    const result = await runCli(['build', JSON_SPEC, '--target', 'linux-x64', '--out', outDir, '--archive', 'tar.gz'], {
      cwd: workDir,
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    expect(result.status, result.stderr).toBe(0);
    executable = path.join(outDir, 'json-linux-x64');
  }, BUILD_TIMEOUT_MS);

  it('runs as the main module', () => {
    const cwd = tempDir('json-cwd');
    writeFileSync(path.join(cwd, 'in.json'), '{"a": {"b": [1, 2]}}\n');

    const run = runIsolated(executable, ['-f', 'in.json', 'a.b'], { cwd });
    const reference = spawnSync(process.execPath, [referenceCli, '-f', 'in.json', 'a.b'], { cwd, encoding: 'utf8' });

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toContain('1');
    expect(run.stderr).toBe(reference.stderr);
    expect(run.status).toBe(reference.status);
  });

  it('prints the version', () => {
    const run = runIsolated(executable, ['--version']);

    expect(run.stdout).toMatch(/^json 11\.0\.0\b/);
    expect(run.status).toBe(0);
  });
});

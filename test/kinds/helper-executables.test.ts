import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { ESBUILD_FOUR_TARGETS } from './support/shared-builds.js';
import { referenceScript, runBoth, runExecutable } from './support/run.js';
import { readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

const PLATFORM_PROGRAM = 'node_modules/@esbuild/linux-x64/bin/esbuild';

// esbuild's bin script is JavaScript that spawns the native program of its platform package.
describe('a helper program that the package spawns', () => {
  let program: BuiltProgram;
  let script: string;

  beforeAll(async () => {
    program = await buildProgram(ESBUILD_FOUR_TARGETS);
    script = await referenceScript(program.referenceDir, 'esbuild', 'esbuild');
  }, BUILD_TIMEOUT_MS);

  it('runs the version command of the native program', () => {
    const run = runExecutable(program.executable(), ['--version']);

    expect(run.stdout).toBe('0.28.2\n');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('transforms stdin as node does', async () => {
    const { run, reference } = await runBoth(program.executable(), script, ['--loader=ts'], { input: 'const x: number = 1;\nexport { x };\n' });

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toBe('const x = 1;\nexport { x };\n');
    expect(run.stderr).toBe(reference.stderr);
    expect(run.status).toBe(0);
  });

  it('writes the program out with its run bit', () => {
    const run = runExecutable(program.executable(), ['--version']);
    const { payloadId } = readPayload(program.executable());
    const written = statSync(path.join(run.home, '.cache', 'duo-sea', 'run', payloadId, ...PLATFORM_PROGRAM.split('/')));

    // Extracted files keep the owner's bits only, since the run folder is private to the user.
    expect(written.mode & 0o700).toBe(0o700);
  });

  it('packages the program with its run bit', () => {
    const packaged = readPayload(program.executable()).files.find((file) => file.path === PLATFORM_PROGRAM);

    expect(packaged?.mode).toBe(0o755);
    expect(packaged?.extract).toBe(true);
  });
});

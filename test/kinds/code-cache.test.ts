import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { ESBUILD_FOUR_TARGETS } from './support/shared-builds.js';
import { runExecutable } from './support/run.js';
import { readSeaBlob } from './support/sea-payload.js';

afterAll(removeTempDirs);

// V8 rejects code cache that another platform or CPU made. So a build on this linux-x64 host makes it only with the
// target's own Node: natively for linux-x64, under qemu for linux-arm64, and never for macOS or Windows.
describe('code cache in a cross build', () => {
  let program: BuiltProgram;

  beforeAll(async () => {
    program = await buildProgram(ESBUILD_FOUR_TARGETS);
  }, BUILD_TIMEOUT_MS);

  it.each(['darwin-arm64', 'win-x64'])('leaves it out of the %s blob', (target) => {
    expect(readSeaBlob(program.executable(target)).hasCodeCache).toBe(false);
  });

  it.each(['linux-x64', 'linux-arm64'])('puts it in the %s blob', (target) => {
    expect(readSeaBlob(program.executable(target)).hasCodeCache).toBe(true);
  });

  it('draws no rejection on linux-x64', () => {
    const run = runExecutable(program.executable('linux-x64'), ['--version']);

    expect(run.stderr).not.toMatch(/code cache/i);
    expect(run.stdout).toBe('0.28.2\n');
    expect(run.status).toBe(0);
  });
});

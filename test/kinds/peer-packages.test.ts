import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth } from './support/run.js';
import { readPayload } from './support/sea-payload.js';
import { SWC_CORE_VERSION, SWC_WITH_CORE } from './support/shared-builds.js';

afterAll(removeTempDirs);

// @swc/cli declares the peer dependency @swc/core ^1.2.66, and npm would install the newest 1.x for it. `--with` installs
// an older version beside the program instead, so the version shows which one the executable loads.
describe('a peer package given with --with', () => {
  let program: BuiltProgram;
  let script: string;

  beforeAll(async () => {
    program = await buildProgram(SWC_WITH_CORE);
    script = await referenceScript(program.referenceDir, '@swc/cli', 'swc');
  }, BUILD_TIMEOUT_MS);

  it('is in the payload at the requested version', () => {
    const manifest = readPayload(program.executable()).files.find((file) => file.path === 'node_modules/@swc/core/package.json');

    expect(manifest).toBeDefined();
    expect((JSON.parse(manifest!.content.toString('utf8')) as { version: string }).version).toBe(SWC_CORE_VERSION);
  });

  it('is the one the program loads', async () => {
    const { run, reference } = await runBoth(program.executable(), script, ['--version']);

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toContain(`@swc/core: ${SWC_CORE_VERSION}`);
    expect(run.status).toBe(0);
  });
});

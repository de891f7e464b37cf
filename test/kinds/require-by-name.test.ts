import { builtinModules } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth } from './support/run.js';
import { literalRequires } from './support/sea-payload.js';

afterAll(removeTempDirs);

const isBuiltin = (id: string): boolean => id.startsWith('node:') || builtinModules.includes(id);

// cowsay is a CommonJS CLI that requires yargs, get-stdin, string-width and strip-final-newline by name.
describe('cowsay, a CommonJS program that requires its dependencies by name', () => {
  let program: BuiltProgram;
  let script: string;

  beforeAll(async () => {
    program = await buildProgram({ spec: 'cowsay@1.6.0' });
    script = await referenceScript(program.referenceDir, 'cowsay', 'cowsay');
  }, BUILD_TIMEOUT_MS);

  it('leaves only built-in modules to require', () => {
    const required = literalRequires(program.executable());

    expect(required).toContain('fs');
    expect(required.filter((id) => !isBuiltin(id))).toEqual([]);
  });

  it('runs from an empty folder as node does', async () => {
    const { run, reference } = await runBoth(program.executable(), script, ['-e', 'oO', '-T', 'U ', 'moo']);

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toContain('< moo >');
    expect(run.stderr).toBe(reference.stderr);
    expect(run.status).toBe(0);
  });

  it('reads stdin through its dependency', async () => {
    const { run, reference } = await runBoth(program.executable(), script, [], { input: 'from stdin\n' });

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toContain('< from stdin >');
    expect(run.status).toBe(0);
  });
});

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth, runExecutable } from './support/run.js';
import { readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

/** The fixture prints values that real CLIs use but never print, such as import.meta.url. Its bin script lists them. */
const PROBE_DIR = fileURLToPath(new URL('./fixtures/probe-cli/', import.meta.url));

describe('files a program reads from its own package', () => {
  describe('figlet, an ES module program that finds its fonts through import.meta.url', () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'figlet@1.12.0' });
      script = await referenceScript(program.referenceDir, 'figlet', 'figlet');
    }, BUILD_TIMEOUT_MS);

    it('reads a font file beside its module', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['-f', 'Standard', 'hi']);

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain(' _     _ ');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });

    it('lists its font folder', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['-l']);

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('\n  Standard\n');
      expect(run.status).toBe(0);
    });

    it('prints the version from its package.json', () => {
      const run = runExecutable(program.executable(), ['--version']);

      expect(run.stdout).toBe('1.12.0\n');
      expect(run.status).toBe(0);
    });
  });

  describe('cowsay, a CommonJS program that finds its cows through __dirname', () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'cowsay@1.6.0' });
      script = await referenceScript(program.referenceDir, 'cowsay', 'cowsay');
    }, BUILD_TIMEOUT_MS);

    it('reads a cow file by __dirname', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['-f', 'tux', 'hello']);

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('|o_o |');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });

    it('lists its cow folder', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['-l']);

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('  tux  ');
    });

    // yargs finds the package.json upwards from require.main.filename.
    it('prints the version from its package.json', () => {
      const run = runExecutable(program.executable(), ['--version']);

      expect(run.stdout).toBe('1.6.0\n');
      expect(run.status).toBe(0);
    });
  });

  describe('a program that prints what it sees of its own files', () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: PROBE_DIR });
      script = path.join(PROBE_DIR, 'bin', 'probe.js');
    }, BUILD_TIMEOUT_MS);

    it('gives import.meta.url the module path in the package', () => {
      const run = runExecutable(program.executable(), ['where']);
      const seen = JSON.parse(run.stdout) as { url: string; beside: string };
      const { payloadId } = readPayload(program.executable());

      // The payload root is a folder named by the payload id: in the cache folder when files must be extracted, else below the executable.
      expect(seen.url).toMatch(/^file:\/\//);
      expect(fileURLToPath(seen.url).endsWith(path.sep + path.join(payloadId, 'node_modules', 'kinds-probe', 'src', 'where.js'))).toBe(true);
      expect(seen.beside).toBe('the file beside where.js\n');
    });

    it('loads files by createRequire, readdir and import()', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['own-files']);

      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toEqual(JSON.parse(reference.stdout));
      expect(JSON.parse(run.stdout)).toMatchObject({ pluginFiles: ['alpha.js', 'beta.js', 'gamma.cjs'], legacy: { file: 'legacy.cjs', folder: 'src' } });
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth } from './support/run.js';
import { PROGRAM_ASSET, readSeaBlob } from './support/sea-payload.js';

afterAll(removeTempDirs);

describe('CommonJS dependencies of an ES module program', () => {
  // figlet's bin script is an ES module that imports commander, a CommonJS package that requires node:child_process,
  // node:events, node:fs, node:path and node:process.
  describe('figlet, bundled', () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'figlet@1.12.0' });
      script = await referenceScript(program.referenceDir, 'figlet', 'figlet');
    }, BUILD_TIMEOUT_MS);

    it('has no dynamic require shim in the bundle', () => {
      const code = readSeaBlob(program.executable()).assets.get(PROGRAM_ASSET)?.toString('utf8') ?? '';

      expect(code).toContain('require("node:child_process")');
      expect(code).not.toContain('Dynamic require of');
    });

    it('prints commander help as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['--help']);

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('Usage: figlet');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });

    it('reports an unknown option as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['--no-such-option']);

      expect(run.stderr).toBe(reference.stderr);
      expect(run.stderr).toContain("unknown option '--no-such-option'");
      expect(run.status).toBe(reference.status);
    });
  });

  // markdownlint-cli2 is not bundled because of top-level await. It imports globby, which imports fast-glob, a
  // CommonJS package that requires os.
  describe('markdownlint-cli2, loaded module by module', () => {
    const FILES = { 'docs/a.md': '# A\n\nText\n', 'docs/b.md': '# B\n\n\n\ntoo many blank lines\n', 'docs/.markdownlint.json': '{ "MD012": false }\n' };
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'markdownlint-cli2@0.24.1' });
      script = await referenceScript(program.referenceDir, 'markdownlint-cli2', 'markdownlint-cli2');
    }, BUILD_TIMEOUT_MS);

    it('expands a glob as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['docs/*.md'], { files: FILES });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('Linting: 2 files');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(reference.status);
    });
  });
});

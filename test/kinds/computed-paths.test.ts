import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth, withTokens, type ProgramRun } from './support/run.js';
import { readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

/** Returns the names of the `.js` files of a folder without their extension, sorted. */
function moduleNames(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith('.js'))
    .map((name) => name.slice(0, -3))
    .sort();
}

describe('modules loaded by a computed path', () => {
  // browserslist loads `require('caniuse-lite/data/regions/' + code + '.js')` and `.../features/' + name + '.js'`.
  describe('browserslist, which requires data modules by a computed name', () => {
    let program: BuiltProgram;
    let script: string;
    let caniuseData: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'browserslist@4.29.6' });
      script = await referenceScript(program.referenceDir, 'browserslist', 'browserslist');
      caniuseData = path.join(program.referenceDir, 'node_modules', 'caniuse-lite', 'data');
    }, BUILD_TIMEOUT_MS);

    it('packages every region module', () => {
      const packaged = readPayload(program.executable())
        .files.map((file) => /^node_modules\/caniuse-lite\/data\/regions\/(.+)\.js$/.exec(file.path)?.[1])
        .filter((name) => name !== undefined)
        .sort();

      expect(packaged).toEqual(moduleNames(path.join(caniuseData, 'regions')));
    });

    it('loads every region module', async () => {
      const regions = moduleNames(path.join(caniuseData, 'regions'));
      const args = [`--coverage=${regions.join(',')}`, 'last 1 chrome version'];

      const { run, reference } = await runBoth(program.executable(), script, args);

      expect(regions.length).toBeGreaterThan(200);
      expect(run.stderr).toBe(reference.stderr);
      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout.trim().split('\n')).toHaveLength(regions.length);
      expect(run.status).toBe(0);
    });

    it('loads every feature module', async () => {
      const features = moduleNames(path.join(caniuseData, 'features'));
      const query = features.map((feature) => `supports ${feature}`).join(', ');

      const { run, reference } = await runBoth(program.executable(), script, [query]);

      expect(features.length).toBeGreaterThan(500);
      expect(run.stderr).toBe(reference.stderr);
      expect(run.stdout).toBe(reference.stdout);
      expect(run.status).toBe(0);
    });

    // NOTE: only the message is compared. The stack trace of the uncaught error shows positions in the bundle
    // (browserslist/cli.js:4661 in place of browserslist/node.js:362) until the build maps them back.
    it('reports an unknown region as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['--coverage=XX', 'defaults']);
      const message = 'Error [BrowserslistError]: Unknown region name `XX`.';

      expect(reference.stderr).toContain(message);
      expect(run.stderr).toContain(message);
      expect(run.status).toBe(reference.status);
    });
  });

  // ESLint loads `await import(pathToFileURL(path.resolve(__dirname, '../cli-engine/formatters', `${name}.js`)))`.
  describe('eslint, which imports its formatters by a computed path', () => {
    const FILES = {
      'eslint.config.mjs': 'export default [{ rules: { "no-unused-vars": "error", "prefer-const": "error" } }];\n',
    };
    const SOURCE = 'let a = 1;\nvar b;\n';
    let program: BuiltProgram;
    let script: string;
    let formatters: string[];

    beforeAll(async () => {
      program = await buildProgram({ spec: 'eslint@10.16.0' });
      script = await referenceScript(program.referenceDir, 'eslint', 'eslint');
      formatters = moduleNames(path.join(program.referenceDir, 'node_modules', 'eslint', 'lib', 'cli-engine', 'formatters'));
    }, BUILD_TIMEOUT_MS);

    it('finds formatters to test', () => {
      expect(formatters).toContain('stylish');
    });

    it('loads every formatter', async () => {
      for (const formatter of formatters) {
        const { run, reference } = await runBoth(program.executable(), script, ['--stdin', '-f', formatter], { files: FILES, input: SOURCE });
        // The HTML report states the time it was made, and the JSON report the working folder.
        const normalized = (side: ProgramRun): string => withTokens(side.stdout, side).replace(/Generated on [^<]*/, 'Generated on <time>');

        expect(normalized(run), formatter).toBe(normalized(reference));
        expect(run.stderr, formatter).toBe(reference.stderr);
        expect(run.status, formatter).toBe(1);
      }
    }, 60_000);
  });
});

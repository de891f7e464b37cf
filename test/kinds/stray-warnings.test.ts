import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuildRequest } from './support/build-cache.js';
import { referenceScript, runBoth, type RunOptions } from './support/run.js';
import { SWC_WITH_CORE } from './support/shared-builds.js';

afterAll(removeTempDirs);

interface CleanRun {
  label: string;
  request: BuildRequest;
  packageName: string;
  bin: string;
  args: string[];
  options?: RunOptions;
}

/** One clean command per way the executable loads a program, each of which could make Node warn. */
const CLEAN_RUNS: CleanRun[] = [
  { label: 'a bundled ES module program', request: { spec: 'figlet@1.12.0' }, packageName: 'figlet', bin: 'figlet', args: ['hi'] },
  {
    label: 'a program loaded module by module',
    request: { spec: 'markdownlint-cli2@0.24.1' },
    packageName: 'markdownlint-cli2',
    bin: 'markdownlint-cli2',
    args: ['a.md'],
    options: { files: { 'a.md': '# A\n\nText.\n' } },
  },
  {
    label: 'a program that imports its own files by computed path',
    request: { spec: 'eslint@10.16.0' },
    packageName: 'eslint',
    bin: 'eslint',
    args: ['a.js'],
    options: { files: { 'eslint.config.mjs': 'export default [{ rules: { "no-undef": "error" } }];\n', 'a.js': 'export const a = 1;\n' } },
  },
  {
    label: 'a program that loads a native addon',
    request: SWC_WITH_CORE,
    packageName: '@swc/cli',
    bin: 'swc',
    args: ['a.ts', '--no-swcrc', '-C', 'jsc.parser.syntax=typescript'],
    options: { files: { 'a.ts': 'export const a: number = 1;\n' } },
  },
  {
    label: 'a program that compiles WebAssembly',
    request: { spec: '@rollup/wasm-node@4.68.4' },
    packageName: '@rollup/wasm-node',
    bin: 'rollup',
    args: ['a.js', '--silent'],
    options: { files: { 'a.js': 'console.log(1);\n' } },
  },
];

describe('stderr of a clean run', () => {
  it.each(CLEAN_RUNS)(
    'equals node for $label',
    async ({ request, packageName, bin, args, options }) => {
      const program = await buildProgram(request);
      const script = await referenceScript(program.referenceDir, packageName, bin);

      const { run, reference } = await runBoth(program.executable(), script, args, options);

      expect(run.stderr).toBe(reference.stderr);
      expect(run.stderr).not.toMatch(/warning/i);
      expect(run.status).toBe(0);
    },
    BUILD_TIMEOUT_MS,
  );
});

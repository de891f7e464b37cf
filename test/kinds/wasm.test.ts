import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth, withoutStackFrames, withTokens, type ProgramRun } from './support/run.js';
import { readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

// @rollup/wasm-node parses with WebAssembly: it reads `${__dirname}/bindings_wasm_bg.wasm` and compiles it.
describe('a .wasm file read beside its module', () => {
  const WASM_FILE = 'node_modules/@rollup/wasm-node/dist/wasm-node/bindings_wasm_bg.wasm';
  const FILES = {
    'main.js': "import { answer } from './answer.js';\nimport { unused } from './answer.js';\nconsole.log(answer * 2);\n",
    'answer.js': 'export const answer = 21;\nexport const unused = 0;\n',
  };
  let program: BuiltProgram;
  let script: string;

  beforeAll(async () => {
    program = await buildProgram({ spec: '@rollup/wasm-node@4.68.4' });
    script = await referenceScript(program.referenceDir, '@rollup/wasm-node', 'rollup');
  }, BUILD_TIMEOUT_MS);

  it('is packaged as it is', () => {
    const wasm = readPayload(program.executable()).files.find((file) => file.path === WASM_FILE);

    expect(wasm?.content.subarray(0, 4).toString('latin1')).toBe('\0asm');
  });

  it('parses and bundles through WebAssembly as node does', async () => {
    const { run, reference } = await runBoth(program.executable(), script, ['main.js', '--format', 'cjs'], { files: FILES });

    expect(run.stdout).toBe(reference.stdout);
    expect(run.stdout).toContain('const answer = 21;');
    expect(run.stdout).not.toContain('unused');
    expect(withTokens(run.stderr, run)).toBe(withTokens(reference.stderr, reference));
    expect(run.status).toBe(0);
  });

  it('reports a syntax error found by the parser as node does', async () => {
    const { run, reference } = await runBoth(program.executable(), script, ['bad.js'], { files: { 'bad.js': 'export const = 1;\n' } });
    const message = (side: ProgramRun): string => withoutStackFrames(withTokens(side.stderr, side));

    expect(message(run)).toBe(message(reference));
    expect(run.stderr).toContain('bad.js');
    expect(run.status).toBe(1);
  });
});

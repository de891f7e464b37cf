import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { PROGRAM_LINE_OFFSET, wrapProgram } from '../../../src/runtime/vfs-format.js';
import { makeProgramCodeCache } from '../../../src/stages/code-cache.js';
import { findTarget } from '../../../src/targets.js';

const NATIVE = { command: '', prefix: [] };
const PROGRAM = wrapProgram('const greet = (name) => `hello ${name}`;\nmodule.exports = greet(__filename);\n');

let workDir: string;
let programPath: string;

beforeEach(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-code-cache-'));
  programPath = path.join(workDir, 'program.js');
  writeFileSync(programPath, PROGRAM);
});

afterEach(() => rmSync(workDir, { recursive: true, force: true }));

/** Makes the cache of a program file with this test's own Node, working in `folder`, and returns its bytes. */
async function makeCache(folder: string, program = programPath): Promise<Buffer> {
  const result = await makeProgramCodeCache({ target: findTarget('linux-x64'), launcher: NATIVE, nodePath: process.execPath, programPath: program, nodeOptions: [], workDir: folder });
  if ('skipped' in result) throw new Error(`skipped: ${result.skipped}`);
  return readFileSync(result.cachePath);
}

describe('makeProgramCodeCache', () => {
  it('makes a cache that another process of the same Node accepts', async () => {
    const cache = await makeCache(workDir);
    const script = new vm.Script(PROGRAM, { filename: '/payload/cli.js', lineOffset: PROGRAM_LINE_OFFSET, cachedData: cache });

    expect(script.cachedDataRejected).toBe(false);
  });

  it('makes the same bytes from another folder', async () => {
    const second = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-code-cache-'));
    writeFileSync(path.join(second, 'program.js'), PROGRAM);
    try {
      expect((await makeCache(workDir)).equals(await makeCache(second, path.join(second, 'program.js')))).toBe(true);
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  });

  it('keeps the bundle\'s line numbers in stack traces', () => {
    const script = new vm.Script(wrapProgram('const a = 1;\nthrow new Error(String(a));'), { filename: '/payload/cli.js', lineOffset: PROGRAM_LINE_OFFSET });
    const run = script.runInThisContext() as () => void;

    expect(() => run()).toThrow(expect.objectContaining({ stack: expect.stringContaining('/payload/cli.js:2:7') }));
  });

  it('skips a target that the host cannot run', async () => {
    const result = await makeProgramCodeCache({
      target: findTarget('win-x64'),
      launcher: { skipReason: 'a win32 executable cannot run on this linux host' },
      nodePath: process.execPath,
      programPath,
      nodeOptions: [],
      workDir,
    });

    expect(result).toEqual({ skipped: 'a win32 executable cannot run on this linux host' });
  });

  it('names the program that does not compile', async () => {
    writeFileSync(programPath, wrapProgram('const = 1;'));

    const failure = await makeProgramCodeCache({ target: findTarget('linux-x64'), launcher: NATIVE, nodePath: process.execPath, programPath, nodeOptions: [], workDir }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_CODE_CACHE_FAILED');
    expect((failure as DuoSeaError).message).toContain('SyntaxError');
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { nodeBinFolder, runExecutable } from './support/run.js';
import { elfSectionNames, readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

interface SizeReport {
  targets: { id: string; baseRawBytes: number; baseStrippedBytes: number; payloadBytes: number; executableBytes: number }[];
}

// llvm-strip rewrites the whole file and drops what it does not know, so it must run before the blob is injected.
describe('strip before injection', () => {
  let program: BuiltProgram;

  beforeAll(async () => {
    program = await buildProgram({ spec: 'cowsay@1.6.0' });
  }, BUILD_TIMEOUT_MS);

  it('starts from a base binary that has a symbol table', async () => {
    expect(elfSectionNames(path.join(await nodeBinFolder(), 'node'))).toContain('.symtab');
  });

  it('leaves no symbol table in the executable', () => {
    expect(elfSectionNames(program.executable())).not.toContain('.symtab');
  });

  it('keeps the payload whole', () => {
    const payload = readPayload(program.executable());

    expect(payload.entry).toBe('node_modules/cowsay/cli.js');
    expect(payload.files.find((file) => file.path === payload.entry)?.content.toString('utf8')).toContain("require('./index')");
  });

  it('reports a stripped base smaller than the raw one', () => {
    const report = JSON.parse(readFileSync(path.join(program.outDir, 'size-report.json'), 'utf8')) as SizeReport;
    const sizes = report.targets.find((target) => target.id === 'linux-x64');

    expect(sizes!.baseStrippedBytes).toBeLessThan(sizes!.baseRawBytes);
    expect(sizes!.baseStrippedBytes + sizes!.payloadBytes).toBe(sizes!.executableBytes);
  });

  it('finds its payload when it runs', () => {
    const run = runExecutable(program.executable(), ['stripped']);

    expect(run.stdout).toContain('< stripped >');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

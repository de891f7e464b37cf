import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { runBoth } from './support/run.js';
import { readPayload } from './support/sea-payload.js';

afterAll(removeTempDirs);

// Programs read process.argv but seldom print it, so the fixture prints it.
const PROBE_DIR = fileURLToPath(new URL('./fixtures/probe-cli/', import.meta.url));
const PROBE_SCRIPT = path.join(PROBE_DIR, 'bin', 'probe.js');

/** Arguments that a shell passes unchanged and a parser could mistake: node options, `--`, an empty string, spaces. */
const ARGUMENTS = ['argv', '--max-old-space-size=64', '-e', 'code', '--', '', 'two words', 'ünïcode', '-'];

interface SeenArgv {
  execPath: string;
  argv: string[];
}

describe('process.argv', () => {
  let program: BuiltProgram;
  let run: SeenArgv;
  let reference: SeenArgv;

  beforeAll(async () => {
    program = await buildProgram({ spec: PROBE_DIR });
    const runs = await runBoth(program.executable(), PROBE_SCRIPT, ARGUMENTS);
    run = JSON.parse(runs.run.stdout) as SeenArgv;
    reference = JSON.parse(runs.reference.stdout) as SeenArgv;
  }, BUILD_TIMEOUT_MS);

  it('starts with the executable as execPath', () => {
    expect(run.argv[0]).toBe(program.executable());
    expect(run.execPath).toBe(program.executable());
  });

  it('names the bin script in the payload second', () => {
    const { entry } = readPayload(program.executable());

    expect(entry).toBe('node_modules/kinds-probe/bin/probe.js');
    expect(run.argv[1].endsWith(path.sep + path.join(...entry.split('/')))).toBe(true);
  });

  it('passes every argument unchanged, as node does', () => {
    expect(run.argv.slice(2)).toEqual(ARGUMENTS);
    expect(run.argv.slice(2)).toEqual(reference.argv.slice(2));
  });

  it('has as many entries as under node', () => {
    expect(run.argv).toHaveLength(reference.argv.length);
  });
});

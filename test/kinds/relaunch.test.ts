import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth, type ProgramRun } from './support/run.js';

afterAll(removeTempDirs);

// No small published CLI forks one of its own scripts or restarts itself with a heap flag: @google/gemini-cli does
// the latter, but its build is large. The fixture does both.
const PROBE_DIR = fileURLToPath(new URL('./fixtures/probe-cli/', import.meta.url));
const PROBE_SCRIPT = path.join(PROBE_DIR, 'bin', 'probe.js');

const parsed = (run: ProgramRun): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

describe('a program that starts process.execPath with its own scripts', () => {
  describe('child_process.fork and a relaunch with node options', () => {
    let program: BuiltProgram;

    beforeAll(async () => {
      program = await buildProgram({ spec: PROBE_DIR });
    }, BUILD_TIMEOUT_MS);

    it('forks a worker script that talks over IPC', async () => {
      const { run, reference } = await runBoth(program.executable(), PROBE_SCRIPT, ['fork', 'one', 'two words']);

      expect(run.stderr).toBe('');
      expect(parsed(run)).toEqual(parsed(reference));
      expect(parsed(run)).toEqual({ received: { argv: ['one', 'two words'], hasChannel: true }, code: 0 });
    });

    it('relaunches its bin script with node options', async () => {
      const { run, reference } = await runBoth(program.executable(), PROBE_SCRIPT, ['relaunch', 'x']);

      expect(run.stderr).toBe('');
      expect(parsed(run).argv).toEqual(['relaunch', '--relaunched', 'x']);
      expect(parsed(run).execArgv).toEqual(parsed(reference).execArgv);
      expect(run.status).toBe(0);
    });

    // NOTE: V8 sizes its heap before the runtime parses the relaunch, and the executable takes no node options from its
    // command line. So --max-old-space-size of a relaunch changes process.execArgv but not the heap.
    it.fails('applies the heap flag of a relaunch', async () => {
      const { run, reference } = await runBoth(program.executable(), PROBE_SCRIPT, ['relaunch']);

      expect(parsed(run).heapLimitMiB).toBe(parsed(reference).heapLimitMiB);
    });
  });

  // Yarn 1 puts shims named node and yarn first on PATH for scripts. Each runs `exec process.execPath process.argv[1]`.
  describe('yarn, whose scripts run yarn again through a shim', () => {
    const FILES = {
      'package.json': JSON.stringify({
        name: 'project',
        version: '1.0.0',
        license: 'MIT',
        scripts: { hello: 'echo hello from $npm_lifecycle_event', nested: 'yarn --silent run hello', fail: 'exit 4' },
      }),
    };
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'yarn@1.22.22' });
      script = await referenceScript(program.referenceDir, 'yarn', 'yarn');
    }, BUILD_TIMEOUT_MS);

    it('runs a script that runs yarn again', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['--offline', '--silent', 'run', 'nested'], { files: FILES });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toBe('hello from hello\n');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });

    it('passes on the exit code of a script', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['--offline', '--silent', 'run', 'fail'], { files: FILES });

      expect(run.status).toBe(reference.status);
      expect(run.status).toBe(4);
    });
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { runExecutable, runWithNode } from './support/run.js';

afterAll(removeTempDirs);

// The fixture prints process.execArgv, the heap limit and Error.stackTraceLimit.
const PROBE_DIR = fileURLToPath(new URL('./fixtures/probe-cli/', import.meta.url));
const PROBE_SCRIPT = path.join(PROBE_DIR, 'bin', 'probe.js');
const NODE_OPTIONS = ['--max-old-space-size=192', '--stack-trace-limit=7'];

interface SeenFlags {
  execArgv: string[];
  heapLimitMiB: number;
  stackTraceLimit: number;
}

/** Writes a script that leaves a marker file when some process loads it, and returns both paths. */
function hostileScript(): { script: string; marker: string } {
  const folder = tempDir('hostile');
  const marker = path.join(folder, 'loaded');
  const script = path.join(folder, 'inject.js');
  writeFileSync(script, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'loaded');\nconsole.log('INJECTED');\n`);
  return { script, marker };
}

describe('node options of the executable', () => {
  describe('configured with --node-option', () => {
    let program: BuiltProgram;

    beforeAll(async () => {
      program = await buildProgram({ spec: PROBE_DIR, nodeOptions: NODE_OPTIONS });
    }, BUILD_TIMEOUT_MS);

    it('lists them in process.execArgv', () => {
      const seen = JSON.parse(runExecutable(program.executable(), ['flags']).stdout) as SeenFlags;

      expect(seen.execArgv).toEqual(NODE_OPTIONS);
    });

    it('applies them as node does', async () => {
      const run = runExecutable(program.executable(), ['flags']);
      const reference = await runWithNode(PROBE_SCRIPT, ['flags'], { nodeOptions: NODE_OPTIONS });
      const seen = JSON.parse(run.stdout) as SeenFlags;

      expect(seen.heapLimitMiB).toBe((JSON.parse(reference.stdout) as SeenFlags).heapLimitMiB);
      expect(seen.stackTraceLimit).toBe(7);
      expect(run.stderr).toBe('');
    });

    it('ignores code that NODE_OPTIONS requires', () => {
      const { script, marker } = hostileScript();

      const run = runExecutable(program.executable(), ['flags'], { env: { NODE_OPTIONS: `--require=${script}` } });

      expect(run.stdout).not.toContain('INJECTED');
      expect(existsSync(marker)).toBe(false);
      expect((JSON.parse(run.stdout) as SeenFlags).execArgv).toEqual(NODE_OPTIONS);
      expect(run.stderr).toBe('');
    });
  });

  describe('of a program built without them', () => {
    let program: BuiltProgram;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'cowsay@1.6.0' });
    }, BUILD_TIMEOUT_MS);

    it('ignores code that NODE_OPTIONS requires', () => {
      const { script, marker } = hostileScript();
      const clean = runExecutable(program.executable(), ['moo']);

      const run = runExecutable(program.executable(), ['moo'], { env: { NODE_OPTIONS: `--require=${script}` } });

      expect(run.stdout).toBe(clean.stdout);
      expect(run.stderr).toBe(clean.stderr);
      expect(existsSync(marker)).toBe(false);
    });

    it('passes command-line node options to the program', () => {
      const { script, marker } = hostileScript();

      const run = runExecutable(program.executable(), ['--require', script, 'moo']);

      expect(run.stdout).not.toContain('INJECTED');
      expect(existsSync(marker)).toBe(false);
      expect(run.stdout).toContain('< moo >');
    });
  });
});

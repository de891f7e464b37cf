import { describe, expect, it } from 'vitest';
import {
  codeSpan,
  countPasses,
  excerptDifference,
  formatArgs,
  formatDifference,
  renderJsonReport,
  renderMarkdownReport,
  summarizeFailure,
} from '../../src/conformance/report.js';
import type { CommandResult, ConformanceRun, EntryResult, SetupFailure } from '../../src/conformance/results.js';

function passing(args: string[]): CommandResult {
  return { args, hasStdin: false, spawnsNode: false, passed: true, differences: [], referenceMs: 100, executableMs: 120 };
}

function failing(args: string[], differences: CommandResult['differences']): CommandResult {
  return { args, hasStdin: true, spawnsNode: false, passed: false, differences, referenceMs: 100, executableMs: 120 };
}

const BUNDLE_FAILURE: SetupFailure = {
  phase: 'build',
  code: 'E_BUNDLE_FAILED',
  stage: 'bundle',
  message: 'esbuild could not bundle dist/index.js:\ntop-level await is not available in CommonJS',
};

function entry(name: string, overrides: Partial<EntryResult> = {}): EntryResult {
  return { name, spec: `${name}@1.0.0`, traits: ['esm'], referenceInstall: { durationMs: 1500 }, referenceRunMs: 400, targets: [], ...overrides };
}

function sampleRun(): ConformanceRun {
  return {
    startedAt: '2026-12-04T10:00:00.000Z',
    durationMs: 95_000,
    host: { platform: 'linux', arch: 'x64', osRelease: '6.1.0', cpuModel: 'Example CPU', cpuCount: 2, harnessNodeVersion: 'v20.20.2' },
    nodeVersion: '26.10.0',
    tool: { name: 'duo-sea', version: '0.1.0', sourceHash: 'abcdef0123456789'.repeat(4) },
    corpusPath: '/corpus/corpus.json',
    targets: ['linux-x64'],
    commandTimeoutMs: 120_000,
    entries: [
      entry('figlet', {
        targets: [
          {
            target: 'linux-x64',
            build: { durationMs: 21_000, cached: false },
            runMs: 500,
            commands: [
              passing(['-f', 'Standard', 'hi']),
              failing(['-l'], [
                { part: 'stdout', line: 2, expected: 'Banner\n', got: 'Big\n' },
                { part: 'exit', expected: 'exit code 0', got: 'exit code 1' },
              ]),
            ],
          },
        ],
      }),
      entry('gemini', {
        targets: [
          {
            target: 'linux-x64',
            build: { durationMs: 4_000, cached: true, failure: BUNDLE_FAILURE },
            runMs: 0,
            commands: [
              { args: ['--version'], hasStdin: false, spawnsNode: false, passed: false, differences: [], notRun: BUNDLE_FAILURE },
              { args: ['mcp', 'list'], hasStdin: false, spawnsNode: false, passed: false, differences: [], notRun: BUNDLE_FAILURE },
            ],
          },
        ],
      }),
    ],
  };
}

describe('countPasses', () => {
  it('counts passing commands of all targets', () => {
    expect(countPasses(sampleRun())).toEqual({ passed: 1, total: 4 });
  });

  it('counts one target', () => {
    expect(countPasses(sampleRun(), 'linux-arm64')).toEqual({ passed: 0, total: 0 });
  });
});

describe('formatArgs', () => {
  it('quotes arguments a shell would split', () => {
    expect(formatArgs(['-f', 'Slant', 'Node SEA', "it's", 'docs/*.md', ''])).toBe(`-f Slant 'Node SEA' 'it'\\''s' 'docs/*.md' ''`);
  });

  it('leaves options with values alone', () => {
    expect(formatArgs(['--stdin-file-path=x.ts', '-C', 'jsc.target=es5'])).toBe('--stdin-file-path=x.ts -C jsc.target=es5');
  });
});

describe('excerptDifference', () => {
  it('quotes short lines whole', () => {
    expect(excerptDifference('a\tb\n', 'a b\n')).toEqual({ expected: '"a\\tb\\n"', got: '"a b\\n"' });
  });

  it('shows the end of output as text', () => {
    expect(excerptDifference(null, 'extra\n')).toEqual({ expected: '(end of output)', got: '"extra\\n"' });
  });

  it('starts a long line shortly before its first difference', () => {
    const prefix = 'x'.repeat(200);
    const { expected, got } = excerptDifference(`${prefix}AAA tail`, `${prefix}BBB tail`);
    expect(expected).toBe(`…${JSON.stringify('x'.repeat(30) + 'AAA tail')}`);
    expect(got).toBe(`…${JSON.stringify('x'.repeat(30) + 'BBB tail')}`);
  });

  it('marks a cut end', () => {
    const { expected } = excerptDifference('a'.repeat(150), 'b');
    expect(expected).toBe(`${JSON.stringify('a'.repeat(100))}…`);
  });
});

describe('formatDifference', () => {
  it('formats a line difference', () => {
    expect(formatDifference({ part: 'stderr', line: 3, expected: 'x\n', got: null })).toBe('stderr line 3: expected "x\\n", got (end of output)');
  });

  it('formats an exit difference', () => {
    expect(formatDifference({ part: 'exit', expected: 'exit code 2', got: 'signal SIGSEGV' })).toBe('exit: expected exit code 2, got signal SIGSEGV');
  });
});

describe('summarizeFailure', () => {
  it('names the other parts that differ', () => {
    const [, command] = sampleRun().entries[0].targets[0].commands;
    expect(summarizeFailure(command)).toBe('stdout line 2: expected "Banner\\n", got "Big\\n" (exit also differs)');
  });

  it('names the setup failure of a command that did not run', () => {
    const [command] = sampleRun().entries[1].targets[0].commands;
    expect(summarizeFailure(command)).toBe('not run: build failed, E_BUNDLE_FAILED');
  });
});

describe('codeSpan', () => {
  it('escapes table pipes', () => {
    expect(codeSpan('a | b')).toBe('`a \\| b`');
  });

  it('uses a longer fence around backticks', () => {
    expect(codeSpan('run `x`')).toBe('`` run `x` ``');
  });
});

describe('renderMarkdownReport', () => {
  const markdown = renderMarkdownReport(sampleRun());

  it('lists the run details', () => {
    expect(markdown).toContain('- Date: 2026-12-04T10:00:00.000Z');
    expect(markdown).toContain('- Host: linux-x64, kernel 6.1.0, 2 × Example CPU; harness on Node v20.20.2');
    expect(markdown).toContain('- Node: 26.10.0, in the executables and for the reference runs');
    expect(markdown).toContain('- duo-sea: duo-sea 0.1.0, compiled code sha256 abcdef0123456789');
    expect(markdown).toContain('- Targets: linux-x64');
  });

  it('gives the totals', () => {
    expect(markdown).toContain('**1 of 4 commands pass.**');
    expect(markdown).toContain('## linux-x64: 1 of 4 commands pass');
  });

  it('has one row per command', () => {
    expect(markdown).toContain('| figlet | `-f Standard hi` | pass |  |');
    expect(markdown).toContain('| figlet | `-l` with stdin | **FAIL** | `stdout line 2: expected "Banner\\n", got "Big\\n" (exit also differs)` |');
    expect(markdown).toContain('| gemini | `mcp list` | **FAIL** | `not run: build failed, E_BUNDLE_FAILED` |');
  });

  it('lists setup failures with code and message', () => {
    expect(markdown).toContain('## Setup failures');
    expect(markdown).toContain(
      '| gemini | linux-x64 | build (bundle) | E_BUNDLE_FAILED | esbuild could not bundle dist/index.js: top-level await is not available in CommonJS |',
    );
  });

  it('lists timings with cached builds marked', () => {
    expect(markdown).toContain('| entry | reference install | reference runs | build linux-x64 | runs linux-x64 |');
    expect(markdown).toContain('| figlet | 1.5 s | 400 ms | 21.0 s | 500 ms |');
    expect(markdown).toContain('| gemini | 1.5 s | 400 ms | 4.0 s (cached) | 0 ms |');
  });

  it('leaves out setup failures when there are none', () => {
    const run = sampleRun();
    run.entries = [run.entries[0]];
    expect(renderMarkdownReport(run)).not.toContain('## Setup failures');
  });
});

describe('renderJsonReport', () => {
  it('round-trips the run', () => {
    const run = sampleRun();
    expect(JSON.parse(renderJsonReport(run))).toEqual(JSON.parse(JSON.stringify(run)));
  });
});

import { describe, expect, it } from 'vitest';
import { compareOutcomes, describeEnding, firstDifferingLine, normalizeOutcome, normalizeOutput, splitLines, type RunOutcome } from '../../src/conformance/compare.js';

function outcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  return { stdout: '', stderr: '', exitCode: 0, signal: null, timedOut: false, durationMs: 10, ...overrides };
}

const SCRATCH = [
  { path: '/tmp/run/ref-abc123/cwd', token: '<cwd>' },
  { path: '/tmp/run/ref-abc123', token: '<scratch>' },
  { path: '/tmp/run/ref-abc123/home', token: '<home>' },
];

describe('normalizeOutput', () => {
  it('replaces every occurrence of a path', () => {
    expect(normalizeOutput('/tmp/run/ref-abc123/cwd/a.txt and /tmp/run/ref-abc123/cwd', SCRATCH)).toBe('<cwd>/a.txt and <cwd>');
  });

  it('replaces longer paths before the folders that contain them', () => {
    expect(normalizeOutput('/tmp/run/ref-abc123/home/.cache /tmp/run/ref-abc123/other', SCRATCH)).toBe('<home>/.cache <scratch>/other');
  });

  it('leaves text without the paths alone', () => {
    expect(normalizeOutput('no paths here\n', SCRATCH)).toBe('no paths here\n');
  });

  it('ignores an empty path', () => {
    expect(normalizeOutput('abc', [{ path: '', token: '<x>' }])).toBe('abc');
  });
});

describe('normalizeOutcome', () => {
  it('normalizes stdout, stderr and the start error only', () => {
    const normalized = normalizeOutcome(
      outcome({ stdout: '/tmp/run/ref-abc123/cwd\n', stderr: 'at /tmp/run/ref-abc123/home', startError: 'spawn /tmp/run/ref-abc123/cwd/x ENOENT', exitCode: 3 }),
      SCRATCH,
    );
    expect(normalized).toEqual(outcome({ stdout: '<cwd>\n', stderr: 'at <home>', startError: 'spawn <cwd>/x ENOENT', exitCode: 3 }));
  });
});

describe('splitLines', () => {
  it('keeps each line ending', () => {
    expect(splitLines('a\nb\n')).toEqual(['a\n', 'b\n']);
  });

  it('keeps a last line without newline', () => {
    expect(splitLines('a\nb')).toEqual(['a\n', 'b']);
  });

  it('returns no lines for empty text', () => {
    expect(splitLines('')).toEqual([]);
  });
});

describe('firstDifferingLine', () => {
  it('returns undefined for equal texts', () => {
    expect(firstDifferingLine('a\nb\n', 'a\nb\n')).toBeUndefined();
  });

  it('finds a changed middle line', () => {
    expect(firstDifferingLine('a\nb\nc\n', 'a\nX\nc\n')).toEqual({ line: 2, expected: 'b\n', got: 'X\n' });
  });

  it('marks output that ended early with null', () => {
    expect(firstDifferingLine('a\nb\n', 'a\n')).toEqual({ line: 2, expected: 'b\n', got: null });
  });

  it('marks extra output with a null expected line', () => {
    expect(firstDifferingLine('', 'warning\n')).toEqual({ line: 1, expected: null, got: 'warning\n' });
  });

  it('finds a missing final newline', () => {
    expect(firstDifferingLine('a\nb\n', 'a\nb')).toEqual({ line: 2, expected: 'b\n', got: 'b' });
  });
});

describe('describeEnding', () => {
  it('describes each way a run ends', () => {
    expect(describeEnding(outcome({ exitCode: 2 }))).toBe('exit code 2');
    expect(describeEnding(outcome({ exitCode: null, signal: 'SIGSEGV' }))).toBe('signal SIGSEGV');
    expect(describeEnding(outcome({ exitCode: null, timedOut: true, durationMs: 120_004 }))).toBe('timed out after 120 s');
    expect(describeEnding(outcome({ exitCode: null, startError: 'spawn x ENOENT' }))).toBe('did not start: spawn x ENOENT');
  });
});

describe('compareOutcomes', () => {
  it('returns no differences for equal runs', () => {
    expect(compareOutcomes(outcome({ stdout: 'a\n', exitCode: 1 }), outcome({ stdout: 'a\n', exitCode: 1, durationMs: 99 }))).toEqual([]);
  });

  it('lists stdout, stderr and exit in that order', () => {
    const differences = compareOutcomes(outcome({ stdout: 'a\n', stderr: '' }), outcome({ stdout: 'b\n', stderr: 'oops\n', exitCode: 1 }));
    expect(differences).toEqual([
      { part: 'stdout', line: 1, expected: 'a\n', got: 'b\n' },
      { part: 'stderr', line: 1, expected: null, got: 'oops\n' },
      { part: 'exit', expected: 'exit code 0', got: 'exit code 1' },
    ]);
  });

  it('compares signals', () => {
    const differences = compareOutcomes(outcome(), outcome({ exitCode: null, signal: 'SIGABRT' }));
    expect(differences).toEqual([{ part: 'exit', expected: 'exit code 0', got: 'signal SIGABRT' }]);
  });

  it('fails a timeout on both sides', () => {
    const timedOut = outcome({ exitCode: null, timedOut: true, durationMs: 120_000 });
    expect(compareOutcomes(timedOut, timedOut)).toEqual([{ part: 'exit', expected: 'timed out after 120 s', got: 'timed out after 120 s' }]);
  });

  it('fails a run that did not start', () => {
    const differences = compareOutcomes(outcome(), outcome({ exitCode: null, startError: 'spawn qemu-aarch64-static ENOENT' }));
    expect(differences).toEqual([{ part: 'exit', expected: 'exit code 0', got: 'did not start: spawn qemu-aarch64-static ENOENT' }]);
  });
});

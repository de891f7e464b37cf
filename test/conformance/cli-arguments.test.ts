import { describe, expect, it } from 'vitest';
import { parseCliArguments } from '../../src/conformance/cli-arguments.js';
import { ConformanceError } from '../../src/conformance/errors.js';

const PLACES = { cwd: '/work/project/sub', repoRoot: '/work/project' };

function usageErrorOf(argv: string[]): ConformanceError {
  try {
    parseCliArguments(argv, PLACES);
  } catch (error) {
    expect(error).toBeInstanceOf(ConformanceError);
    return error as ConformanceError;
  }
  throw new Error('expected a ConformanceError, but nothing was thrown');
}

describe('parseCliArguments', () => {
  it('applies the defaults', () => {
    expect(parseCliArguments([], PLACES)).toEqual({
      help: false,
      corpusPath: undefined,
      targets: ['linux-x64'],
      only: [],
      reportPath: '/work/project/docs/conformance.md',
      jsonPath: '/work/project/docs/conformance.json',
      nodeVersion: undefined,
      commandTimeoutMs: undefined,
      rebuild: false,
    });
  });

  it('resolves given paths against the working folder', () => {
    const parsed = parseCliArguments(['corpus.json', '--report', 'out/r.md', '--json', '/abs/r.json'], PLACES);
    expect(parsed.corpusPath).toBe('/work/project/sub/corpus.json');
    expect(parsed.reportPath).toBe('/work/project/sub/out/r.md');
    expect(parsed.jsonPath).toBe('/abs/r.json');
  });

  it('adds linux-arm64 with --arm64', () => {
    expect(parseCliArguments(['--arm64'], PLACES).targets).toEqual(['linux-x64', 'linux-arm64']);
  });

  it('splits and joins --only lists', () => {
    expect(parseCliArguments(['--only', 'figlet, sass', '--only', 'npm'], PLACES).only).toEqual(['figlet', 'sass', 'npm']);
  });

  it('reads the node version, timeout and rebuild', () => {
    const parsed = parseCliArguments(['--node', '22.23.3', '--timeout', '2.5', '--rebuild'], PLACES);
    expect(parsed).toMatchObject({ nodeVersion: '22.23.3', commandTimeoutMs: 2500, rebuild: true });
  });

  it('rejects a timeout that is not a positive number', () => {
    const error = usageErrorOf(['--timeout', '0']);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toBe('--timeout 0 is not a positive number of seconds.');
    expect(error.hint).toBe('Run with --help to list the options.');
  });

  it('rejects an unknown option', () => {
    const error = usageErrorOf(['--arm']);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toContain("'--arm'");
  });

  it('rejects two corpus files', () => {
    expect(usageErrorOf(['a.json', 'b.json']).message).toBe('Expected at most one corpus file, got 2: a.json b.json.');
  });
});

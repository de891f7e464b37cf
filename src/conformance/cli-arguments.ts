import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConformanceError } from './errors.js';

export const USAGE = `Usage: npm run conformance -- [CORPUS_JSON] [options]

Builds each corpus entry with duo-sea, runs its commands with node and with
the executable, and compares stdout, stderr and the exit code.

Options:
  --arm64            also build and run linux-arm64 (through qemu-aarch64-static)
  --only NAME,...    run only these entries (repeatable)
  --report FILE      Markdown report (default: docs/conformance.md)
  --json FILE        JSON report with full outputs of failures (default: docs/conformance.json)
  --node VERSION     Node version of the executables and the reference runs
  --timeout SECONDS  maximum time of one command (default: 120)
  --rebuild          build every executable again instead of using cached ones
  -h, --help         print this help
`;

export interface CliArguments {
  help: boolean;
  /** Corpus path resolved against the working folder, or undefined when none was given. */
  corpusPath?: string;
  targets: string[];
  only: string[];
  reportPath: string;
  jsonPath: string;
  nodeVersion?: string;
  commandTimeoutMs?: number;
  rebuild: boolean;
}

function usageError(message: string): ConformanceError {
  return new ConformanceError({ code: 'E_USAGE', message, hint: 'Run with --help to list the options.' });
}

/** Parses the command line. Relative paths resolve against `cwd`, and the default reports go to `<repoRoot>/docs`. */
export function parseCliArguments(argv: readonly string[], options: { cwd: string; repoRoot: string }): CliArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        arm64: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        report: { type: 'string' },
        json: { type: 'string' },
        node: { type: 'string' },
        timeout: { type: 'string' },
        rebuild: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw usageError(`Expected at most one corpus file, got ${positionals.length}: ${positionals.join(' ')}.`);

  let commandTimeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw usageError(`--timeout ${values.timeout} is not a positive number of seconds.`);
    commandTimeoutMs = Math.round(seconds * 1000);
  }
  const only = (values.only ?? []).flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  return {
    help: values.help,
    corpusPath: positionals[0] === undefined ? undefined : path.resolve(options.cwd, positionals[0]),
    targets: values.arm64 ? ['linux-x64', 'linux-arm64'] : ['linux-x64'],
    only,
    reportPath: values.report === undefined ? path.join(options.repoRoot, 'docs', 'conformance.md') : path.resolve(options.cwd, values.report),
    jsonPath: values.json === undefined ? path.join(options.repoRoot, 'docs', 'conformance.json') : path.resolve(options.cwd, values.json),
    nodeVersion: values.node,
    commandTimeoutMs,
    rebuild: values.rebuild,
  };
}

#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderError } from '../cli-render.js';
import { isDuoSeaError } from '../errors.js';
import { formatDuration } from '../format.js';
import { parseCliArguments, USAGE } from './cli-arguments.js';
import { ConformanceError } from './errors.js';
import type { ConformanceEvent } from './events.js';
import { REPO_ROOT, runConformance } from './harness.js';
import { countPasses, formatArgs, renderJsonReport, renderMarkdownReport, shortMessage, summarizeFailure } from './report.js';

/** Exit code for a failure caused by a bug, from BSD sysexits (EX_SOFTWARE), as duo-sea's own CLI uses. */
const EXIT_INTERNAL_ERROR = 70;
const EXIT_USAGE = 2;

/** The corpus used when none is given: the shared corpus beside the repository. */
const DEFAULT_CORPUS_PATH = path.join(REPO_ROOT, '..', 'shared', 'corpus', 'corpus.json');

function renderEvent(event: ConformanceEvent): string | undefined {
  switch (event.kind) {
    case 'setup':
      return `conformance: ${event.message}`;
    case 'entry-start':
      return `[${event.position}/${event.total}] ${event.entry}`;
    case 'reference-install-done':
      return event.failure
        ? `  reference install FAILED after ${formatDuration(event.durationMs)}: ${event.failure.code} ${shortMessage(event.failure.message)}`
        : `  reference install done in ${formatDuration(event.durationMs)}`;
    case 'build-start':
      return `  build ${event.target}...`;
    case 'build-done': {
      const source = event.cached ? 'from cache' : 'built';
      const outcome = event.failure ? `FAILED (${source}): ${event.failure.code} ${shortMessage(event.failure.message)}` : source;
      return `  build ${event.target} ${outcome} in ${formatDuration(event.durationMs)}`;
    }
    case 'build-progress': {
      const build = event.event;
      if (build.kind === 'stage-done') return `    ${build.stage} done in ${formatDuration(build.durationMs)}`;
      if (build.kind === 'warning') return `    warning: ${build.message}`;
      return undefined;
    }
    case 'command-done': {
      const { result } = event;
      const status = result.passed ? 'pass' : 'FAIL';
      const summary = result.passed ? '' : `: ${summarizeFailure(result)}`;
      return `  ${status} ${event.target} ${formatArgs(result.args)}${summary}`;
    }
  }
}

function printError(error: unknown): number {
  if (error instanceof ConformanceError) {
    process.stderr.write(`conformance: error ${error.code}: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    return error.code === 'E_USAGE' ? EXIT_USAGE : 1;
  }
  if (isDuoSeaError(error)) {
    process.stderr.write(renderError(error));
    return 1;
  }
  process.stderr.write(`conformance: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_INTERNAL_ERROR;
}

async function main(): Promise<number> {
  const args = parseCliArguments(process.argv.slice(2), { cwd: process.cwd(), repoRoot: REPO_ROOT });
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.corpusPath === undefined && !existsSync(DEFAULT_CORPUS_PATH)) {
    throw new ConformanceError({
      code: 'E_CORPUS_NOT_FOUND',
      message: `No corpus file was given, and the default ${DEFAULT_CORPUS_PATH} does not exist.`,
      hint: 'Pass the path of a corpus JSON file: npm run conformance -- path/to/corpus.json',
    });
  }

  const run = await runConformance({
    corpusPath: args.corpusPath ?? DEFAULT_CORPUS_PATH,
    only: args.only,
    targets: args.targets,
    nodeVersion: args.nodeVersion,
    commandTimeoutMs: args.commandTimeoutMs,
    rebuild: args.rebuild,
    report: (event) => {
      const line = renderEvent(event);
      if (line !== undefined) process.stderr.write(line + '\n');
    },
  });

  for (const [file, text] of [
    [args.reportPath, renderMarkdownReport(run)],
    [args.jsonPath, renderJsonReport(run)],
  ]) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  const { passed, total } = countPasses(run);
  process.stdout.write(`${passed} of ${total} commands pass in ${formatDuration(run.durationMs)}. Reports: ${args.reportPath}, ${args.jsonPath}\n`);
  return passed === total ? 0 : 1;
}

main().then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    process.exitCode = printError(error);
  },
);

import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TARGETS, PROGRAMS } from './programs.mjs';

export const TOOLS = ['duo-sea', 'bun', 'bun-bytecode', 'pkg'];
export const PARTS = ['build-time', 'size', 'startup', 'profile'];

export const USAGE = `Usage: npm run bench -- [options]

  --programs LIST   programs to package, from ${PROGRAMS.map((program) => program.id).join(',')} (default: all)
  --tools LIST      tools to build with, from ${TOOLS.join(',')} (default: all)
  --skip-peers      build with duo-sea only (same as --tools duo-sea)
  --targets LIST    duo-sea targets of srt's size build (default: ${DEFAULT_TARGETS.join(',')}); other programs build linux-x64
  --parts LIST      parts to run, from ${PARTS.join(',')} (default: all)
  --skip LIST       parts to leave out
  --runs N          timed runs per command (default: 20)
  --rounds N        rounds the runs are split into, each starting with another command (default: 4)
  --warmup N        warm-up runs per command before the first round (default: 3)
  --profile-runs N  CPU profiles per command in the profile part (default: 5)
  --jobs N          xz processes at once in the size part (default: 2)
  --work DIR        folder for installs, builds and caches (default: bench in duo-sea's cache folder)
  --cache DIR       duo-sea cache for the size and start-up builds (default: duo-sea's default)
  --report FILE     Markdown file whose marked section gets the results (default: docs/benchmarks.md)
  --no-report       write only results.json in the work folder
  --report-only     measure nothing; rewrite the report from the work folder's results.json
  --merge           keep the parts this run leaves out from the previous results.json
  --verbose         show the builds' progress output
`;

function list(value, allowed, name) {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')}; expected some of ${allowed.join(', ')}`);
  return items;
}

function positiveInteger(value, name) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${name}: expected a positive integer, got ${value}`);
  return number;
}

/** Returns duo-sea's default cache folder on Linux: DUO_SEA_CACHE, else duo-sea in XDG_CACHE_HOME or ~/.cache. */
function defaultCacheDir() {
  if (process.env.DUO_SEA_CACHE) return process.env.DUO_SEA_CACHE;
  const root = process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(root, 'duo-sea');
}

/** Returns the tools to build with; duo-sea is always one of them. */
function selectTools(values) {
  if (values['skip-peers']) return ['duo-sea'];
  if (!values.tools) return TOOLS;
  return ['duo-sea', ...list(values.tools, TOOLS, '--tools').filter((tool) => tool !== 'duo-sea')];
}

export function parseOptions(argv, repoDir) {
  const { values } = parseArgs({
    args: argv,
    options: {
      programs: { type: 'string' },
      tools: { type: 'string' },
      'skip-peers': { type: 'boolean' },
      targets: { type: 'string' },
      parts: { type: 'string' },
      skip: { type: 'string' },
      runs: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '3' },
      'profile-runs': { type: 'string', default: '5' },
      jobs: { type: 'string', default: '2' },
      work: { type: 'string' },
      cache: { type: 'string' },
      report: { type: 'string', default: path.join(repoDir, 'docs', 'benchmarks.md') },
      'no-report': { type: 'boolean' },
      'report-only': { type: 'boolean' },
      merge: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const skipped = values.skip ? list(values.skip, PARTS, '--skip') : [];
  const cacheDir = path.resolve(values.cache ?? defaultCacheDir());
  return {
    help: values.help ?? false,
    programs: values.programs ? PROGRAMS.filter((program) => list(values.programs, PROGRAMS.map((p) => p.id), '--programs').includes(program.id)) : PROGRAMS,
    tools: selectTools(values),
    targets: values.targets ? ['linux-x64', ...list(values.targets, DEFAULT_TARGETS, '--targets').filter((target) => target !== 'linux-x64')] : DEFAULT_TARGETS,
    parts: (values.parts ? list(values.parts, PARTS, '--parts') : PARTS).filter((part) => !skipped.includes(part)),
    runs: positiveInteger(values.runs, '--runs'),
    rounds: positiveInteger(values.rounds, '--rounds'),
    warmup: positiveInteger(values.warmup, '--warmup'),
    profileRuns: positiveInteger(values['profile-runs'], '--profile-runs'),
    jobs: positiveInteger(values.jobs, '--jobs'),
    cacheDir,
    workDir: path.resolve(values.work ?? path.join(cacheDir, 'bench')),
    report: values['no-report'] ? undefined : path.resolve(values.report),
    reportOnly: values['report-only'] ?? false,
    merge: values.merge ?? false,
    verbose: values.verbose ?? false,
  };
}

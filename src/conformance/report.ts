import { formatDuration } from '../format.js';
import type { Difference } from './compare.js';
import type { CommandResult, ConformanceRun, SetupFailure } from './results.js';

/** Maximum characters of expected or got text shown in one table cell. */
const EXCERPT_MAX_CHARS = 100;
/** Characters kept before the first differing character when a line is cut. */
const EXCERPT_CONTEXT_CHARS = 30;
const FAILURE_MESSAGE_MAX_CHARS = 400;

export interface PassCount {
  passed: number;
  total: number;
}

/** Counts the passing commands of one target, or of every target when `targetId` is absent. */
export function countPasses(run: ConformanceRun, targetId?: string): PassCount {
  let passed = 0;
  let total = 0;
  for (const entry of run.entries) {
    for (const target of entry.targets) {
      if (targetId !== undefined && target.target !== targetId) continue;
      total += target.commands.length;
      passed += target.commands.filter((command) => command.passed).length;
    }
  }
  return { passed, total };
}

/** Quotes an argument the way a POSIX shell would need it, leaving plain words as they are. */
export function quoteArgument(argument: string): string {
  if (/^[A-Za-z0-9_\-.,/=:@%+]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** Returns the command line of a command's arguments, as a shell would take it. */
export function formatArgs(args: readonly string[]): string {
  return args.map(quoteArgument).join(' ');
}

function commonPrefixLength(a: string, b: string): number {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index++;
  return index;
}

/** Returns a JSON-quoted part of `text` from `start`, at most EXCERPT_MAX_CHARS long, with `…` where it was cut. */
function excerpt(text: string, start: number): string {
  const cutStart = start > 0 ? '…' : '';
  const body = text.slice(start, start + EXCERPT_MAX_CHARS);
  const cutEnd = start + EXCERPT_MAX_CHARS < text.length ? '…' : '';
  return cutStart + JSON.stringify(body) + cutEnd;
}

/**
 * Returns the expected and got texts of a difference as short quoted
 * excerpts. Long lines start a little before their first differing
 * character, so the difference is visible.
 */
export function excerptDifference(expected: string | null, got: string | null): { expected: string; got: string } {
  if (expected === null || got === null) {
    return { expected: expected === null ? '(end of output)' : excerpt(expected, 0), got: got === null ? '(end of output)' : excerpt(got, 0) };
  }
  const differsAt = commonPrefixLength(expected, got);
  const start = differsAt > EXCERPT_MAX_CHARS - EXCERPT_CONTEXT_CHARS ? differsAt - EXCERPT_CONTEXT_CHARS : 0;
  return { expected: excerpt(expected, start), got: excerpt(got, start) };
}

/** Formats one difference: `stdout line 3: expected "…", got "…"` or `exit: expected exit code 0, got exit code 1`. */
export function formatDifference(difference: Difference): string {
  if (difference.part === 'exit') return `exit: expected ${difference.expected}, got ${difference.got}`;
  const { expected, got } = excerptDifference(difference.expected, difference.got);
  return `${difference.part} line ${difference.line}: expected ${expected}, got ${got}`;
}

function describeSetupFailure(failure: SetupFailure): string {
  const phase = failure.phase === 'build' ? 'build failed' : 'reference install failed';
  return `not run: ${phase}, ${failure.code}`;
}

/** Summarizes why a command failed: its first difference, and which other parts also differ. */
export function summarizeFailure(command: CommandResult): string {
  if (command.notRun) return describeSetupFailure(command.notRun);
  const [first, ...others] = command.differences;
  if (!first) return '';
  const also = others.length > 0 ? ` (${others.map((difference) => difference.part).join(' and ')} also differ${others.length === 1 ? 's' : ''})` : '';
  return formatDifference(first) + also;
}

/** Wraps text in a Markdown code span that survives backticks and table pipes. */
export function codeSpan(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padding = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${padding}${text}${padding}${fence}`.replace(/\|/g, '\\|');
}

/** Escapes text for a Markdown table cell outside a code span. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function commandCell(command: CommandResult): string {
  const line = command.args.length > 0 ? codeSpan(formatArgs(command.args)) : '(no arguments)';
  return command.hasStdin ? `${line} with stdin` : line;
}

/** Formats a difference summary for a table cell: quoted excerpts go into code spans. */
function summaryCell(command: CommandResult): string {
  if (command.passed) return '';
  return codeSpan(summarizeFailure(command));
}

function renderHeader(run: ConformanceRun): string[] {
  const { host } = run;
  const overall = countPasses(run);
  return [
    '# duo-sea conformance report',
    '',
    `- Date: ${run.startedAt}`,
    `- Host: ${host.platform}-${host.arch}, kernel ${host.osRelease}, ${host.cpuCount} × ${host.cpuModel}; harness on Node ${host.harnessNodeVersion}`,
    `- Node: ${run.nodeVersion}, in the executables and for the reference runs`,
    `- duo-sea: ${run.tool.name} ${run.tool.version}, compiled code sha256 ${run.tool.sourceHash.slice(0, 16)}`,
    `- Corpus: ${run.corpusPath}, ${run.entries.length} entries`,
    `- Targets: ${run.targets.join(', ')}`,
    `- Command timeout: ${formatDuration(run.commandTimeoutMs)}; run time: ${formatDuration(run.durationMs)}`,
    '',
    `**${overall.passed} of ${overall.total} commands pass.**`,
  ];
}

function renderTargetTable(run: ConformanceRun, targetId: string): string[] {
  const count = countPasses(run, targetId);
  const lines = [`## ${targetId}: ${count.passed} of ${count.total} commands pass`, '', '| entry | command | result | first difference |', '|---|---|---|---|'];
  for (const entry of run.entries) {
    const target = entry.targets.find((candidate) => candidate.target === targetId);
    for (const command of target?.commands ?? []) {
      lines.push(`| ${cell(entry.name)} | ${commandCell(command)} | ${command.passed ? 'pass' : '**FAIL**'} | ${summaryCell(command)} |`);
    }
  }
  return lines;
}

/** Returns a message on one line, cut after FAILURE_MESSAGE_MAX_CHARS characters. */
export function shortMessage(message: string): string {
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
  return oneLine.length > FAILURE_MESSAGE_MAX_CHARS ? `${oneLine.slice(0, FAILURE_MESSAGE_MAX_CHARS)}…` : oneLine;
}

function renderSetupFailures(run: ConformanceRun): string[] {
  const rows: string[] = [];
  for (const entry of run.entries) {
    if (entry.referenceInstall.failure) {
      const failure = entry.referenceInstall.failure;
      rows.push(`| ${cell(entry.name)} | all | reference install | ${failure.code} | ${cell(shortMessage(failure.message))} |`);
    }
    for (const target of entry.targets) {
      const failure = target.build?.failure;
      if (failure) rows.push(`| ${cell(entry.name)} | ${target.target} | build${failure.stage ? ` (${failure.stage})` : ''} | ${failure.code} | ${cell(shortMessage(failure.message))} |`);
    }
  }
  if (rows.length === 0) return [];
  return ['## Setup failures', '', 'Every command of these entries counts as failed.', '', '| entry | target | phase | code | message |', '|---|---|---|---|---|', ...rows];
}

function renderTimings(run: ConformanceRun): string[] {
  const header = ['entry', 'reference install', 'reference runs', ...run.targets.flatMap((target) => [`build ${target}`, `runs ${target}`])];
  const lines = ['## Timings', '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const entry of run.entries) {
    const cells = [cell(entry.name), formatDuration(entry.referenceInstall.durationMs), formatDuration(entry.referenceRunMs)];
    for (const targetId of run.targets) {
      const target = entry.targets.find((candidate) => candidate.target === targetId);
      const build = target?.build ? `${formatDuration(target.build.durationMs)}${target.build.cached ? ' (cached)' : ''}` : '-';
      cells.push(build, target?.build ? formatDuration(target.runMs) : '-');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Renders the Markdown report: run details, one results table per target, setup failures and timings. */
export function renderMarkdownReport(run: ConformanceRun): string {
  const sections = [renderHeader(run), ...run.targets.map((target) => renderTargetTable(run, target)), renderSetupFailures(run), renderTimings(run)];
  return sections.filter((section) => section.length > 0).map((section) => section.join('\n')).join('\n\n') + '\n';
}

/** Renders the JSON report: the whole run, with both outputs of every failed command. */
export function renderJsonReport(run: ConformanceRun): string {
  return JSON.stringify(run, null, 2) + '\n';
}

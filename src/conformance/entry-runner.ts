import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { compareOutcomes, normalizeOutcome, type RunOutcome } from './compare.js';
import type { build as buildFunction } from '../build.js';
import type { CorpusCommand, CorpusEntry } from './corpus.js';
import { ConformanceError } from './errors.js';
import type { ConformanceReporter } from './events.js';
import { obtainExecutable } from './executable.js';
import { runProcess } from './process-run.js';
import { findReferenceScript, installReference } from './reference.js';
import type { CommandResult, EntryResult, SetupFailure, TargetResult } from './results.js';
import { createScratch, runEnvironment, scratchReplacements } from './scratch.js';

/** A target whose executables this host can start, directly or through an emulator. */
export interface RunnableTarget {
  id: string;
  launcher: { command: string; prefix: string[] };
}

/** Settings and folders that every entry of one run shares. */
export interface EntryContext {
  /** duo-sea's `build()` from the snapshot that `sourceHash` describes. */
  build: typeof buildFunction;
  workDir: string;
  /** Folder whose only program is the base Node binary, as `node`. */
  nodeBinFolder: string;
  /** Folder with the system's programs except `node`. */
  nodelessBinFolder: string;
  npmCli: string;
  nodeVersion: string;
  cacheDir: string;
  sourceHash: string;
  rebuild: boolean;
  targets: RunnableTarget[];
  commandTimeoutMs: number;
  report: ConformanceReporter;
}

/** The command line and PATH of one side of the comparison. */
interface Program {
  /** Prefix of the scratch folders. Both labels have three letters, so both sides get paths of the same length. */
  label: 'ref' | 'exe';
  command: string;
  argsPrefix: string[];
  /** PATH when the command does not spawn `node` itself, and when it does. */
  pathValue: (command: CorpusCommand) => string;
}

/** Runs one command in fresh scratch folders and returns its outcome with the scratch paths replaced by tokens. */
async function runOneSide(context: EntryContext, entry: CorpusEntry, command: CorpusCommand, program: Program): Promise<RunOutcome> {
  const scratch = await createScratch(path.join(context.workDir, 'runs'), program.label, entry.files);
  try {
    const outcome = await runProcess({
      command: program.command,
      args: [...program.argsPrefix, ...command.args],
      cwd: scratch.cwd,
      env: runEnvironment(scratch, program.pathValue(command)),
      stdin: command.stdin,
      timeoutMs: context.commandTimeoutMs,
    });
    return normalizeOutcome(outcome, await scratchReplacements(scratch));
  } finally {
    await rm(scratch.root, { recursive: true, force: true });
  }
}

function setupFailureOf(error: unknown, phase: SetupFailure['phase']): SetupFailure {
  if (error instanceof ConformanceError) return { phase, code: error.code, message: error.message, hint: error.hint };
  return { phase, code: 'E_INTERNAL', message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}

function notRunCommands(entry: CorpusEntry, failure: SetupFailure): CommandResult[] {
  return entry.commands.map((command) => ({
    args: command.args,
    hasStdin: command.stdin !== '',
    spawnsNode: command.spawnsNode,
    note: command.note,
    passed: false,
    differences: [],
    notRun: failure,
  }));
}

async function installAndFindScript(context: EntryContext, entry: CorpusEntry, installDir: string): Promise<string> {
  await installReference({ spec: entry.spec, extraSpecs: entry.extraSpecs, folder: installDir, nodeBinFolder: context.nodeBinFolder, npmCli: context.npmCli });
  return findReferenceScript({ folder: installDir, packageName: entry.packageName, bin: entry.bin });
}

function compareCommand(command: CorpusCommand, expected: RunOutcome, got: RunOutcome): CommandResult {
  const differences = compareOutcomes(expected, got);
  const passed = differences.length === 0;
  return {
    args: command.args,
    hasStdin: command.stdin !== '',
    spawnsNode: command.spawnsNode,
    note: command.note,
    passed,
    differences,
    referenceMs: expected.durationMs,
    executableMs: got.durationMs,
    ...(passed ? {} : { expected, got }),
  };
}

async function runTarget(context: EntryContext, entry: CorpusEntry, target: RunnableTarget, referenceOutcomes: RunOutcome[]): Promise<TargetResult> {
  context.report({ kind: 'build-start', entry: entry.name, target: target.id });
  const executable = await obtainExecutable({
    build: context.build,
    entry,
    target: target.id,
    nodeVersion: context.nodeVersion,
    cacheDir: context.cacheDir,
    sourceHash: context.sourceHash,
    rebuild: context.rebuild,
    workDir: context.workDir,
    report: (event) => context.report({ kind: 'build-progress', entry: entry.name, event }),
  });
  const failure = executable.ok ? undefined : executable.failure;
  context.report({ kind: 'build-done', entry: entry.name, target: target.id, durationMs: executable.durationMs, cached: executable.cached, failure });
  const build = { durationMs: executable.durationMs, cached: executable.cached, failure };
  if (!executable.ok) return { target: target.id, build, runMs: 0, commands: notRunCommands(entry, executable.failure) };

  const program: Program = {
    label: 'exe',
    command: target.launcher.command || executable.path,
    argsPrefix: target.launcher.command ? [...target.launcher.prefix, executable.path] : [],
    pathValue: (command) => (command.spawnsNode ? `${context.nodeBinFolder}${path.delimiter}${context.nodelessBinFolder}` : context.nodelessBinFolder),
  };
  const commands: CommandResult[] = [];
  let runMs = 0;
  for (const [index, command] of entry.commands.entries()) {
    const got = await runOneSide(context, entry, command, program);
    runMs += got.durationMs;
    const result = compareCommand(command, referenceOutcomes[index], got);
    commands.push(result);
    context.report({ kind: 'command-done', entry: entry.name, target: target.id, result });
  }
  return { target: target.id, build, runMs, commands };
}

/**
 * Installs an entry's reference copy, runs its commands with `node`, then
 * for each target obtains the executable and runs the same commands with
 * it. A failed install or build marks every command of the entry as failed.
 */
export async function runEntry(context: EntryContext, entry: CorpusEntry): Promise<EntryResult> {
  const installDir = await mkdtemp(path.join(context.workDir, 'reference-'));
  const result: EntryResult = { name: entry.name, spec: entry.spec, traits: entry.traits, referenceInstall: { durationMs: 0 }, referenceRunMs: 0, targets: [] };
  try {
    const installStartedAt = performance.now();
    let script: string | undefined;
    try {
      script = await installAndFindScript(context, entry, installDir);
    } catch (error) {
      result.referenceInstall.failure = setupFailureOf(error, 'reference-install');
    }
    result.referenceInstall.durationMs = Math.round(performance.now() - installStartedAt);
    context.report({ kind: 'reference-install-done', entry: entry.name, ...result.referenceInstall });
    if (script === undefined) {
      const failure = result.referenceInstall.failure!;
      result.targets = context.targets.map((target) => ({ target: target.id, runMs: 0, commands: notRunCommands(entry, failure) }));
      return result;
    }

    const reference: Program = {
      label: 'ref',
      command: path.join(context.nodeBinFolder, 'node'),
      argsPrefix: [script],
      pathValue: () => `${context.nodeBinFolder}${path.delimiter}${context.nodelessBinFolder}`,
    };
    const referenceOutcomes: RunOutcome[] = [];
    for (const command of entry.commands) {
      const outcome = await runOneSide(context, entry, command, reference);
      result.referenceRunMs += outcome.durationMs;
      referenceOutcomes.push(outcome);
    }

    for (const target of context.targets) result.targets.push(await runTarget(context, entry, target, referenceOutcomes));
    return result;
  } finally {
    await rm(installDir, { recursive: true, force: true });
  }
}

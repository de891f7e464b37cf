import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentCache } from '../../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../../src/checksums.js';
import { findReferenceScript } from '../../../src/conformance/reference.js';
import { createNodeBinFolder } from '../../../src/conformance/scratch.js';
import { DEFAULT_NODE_VERSION, defaultBuildCacheDir } from '../../../src/defaults.js';
import { fetchBaseBinary } from '../../../src/stages/base-binary.js';
import { findTarget } from '../../../src/targets.js';
import { pathWithoutNode, tempDir } from '../../e2e/helpers.js';

export interface RunOptions {
  /** Files to create in a fresh working folder, by relative path. */
  files?: Record<string, string>;
  /** Working folder to use instead of a fresh one. */
  cwd?: string;
  input?: string;
  /** Variables added to the minimal environment, or replacing its values. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface ProgramRun {
  stdout: string;
  stderr: string;
  status: number | null;
  cwd: string;
  home: string;
  tmp: string;
}

/** Creates a fresh working folder that contains `files`. */
export function scratchFolder(files: Record<string, string> = {}): string {
  const folder = tempDir('kind-cwd');
  for (const [relativePath, content] of Object.entries(files)) {
    const target = path.join(folder, ...relativePath.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return folder;
}

/** Runs a command from an empty or given folder, with a fresh HOME and TMPDIR and nothing else from this environment. */
function runIn(command: string, args: string[], pathValue: string, options: RunOptions): ProgramRun {
  const cwd = options.cwd ?? scratchFolder(options.files);
  const home = tempDir('kind-home');
  const tmp = tempDir('kind-tmp');
  const env = { PATH: pathValue, HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8', TERM: 'dumb', ...options.env };
  const result = spawnSync(command, args, { cwd, env, input: options.input ?? '', encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status, cwd, home, tmp };
}

/** Runs a built executable as an admin would on a bare runner: no node reachable on PATH. */
export function runExecutable(executable: string, args: string[], options: RunOptions = {}): ProgramRun {
  return runIn(executable, args, pathWithoutNode(), options);
}

const nodeBinFolders = new Map<string, Promise<string>>();

/** Returns a folder that contains the official Node binary of a version as `node`, from duo-sea's verified cache. */
export function nodeBinFolder(nodeVersion: string = DEFAULT_NODE_VERSION): Promise<string> {
  let folder = nodeBinFolders.get(nodeVersion);
  if (!folder) {
    const cacheDir = defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
    folder = fetchBaseBinary({
      target: findTarget('linux-x64'),
      nodeVersion,
      cache: new ContentCache(cacheDir),
      checksumsDir: BUNDLED_CHECKSUMS_DIR,
      report: () => {},
      cwd: os.tmpdir(),
    }).then((base) => createNodeBinFolder(path.join(tempDir('kind-node'), 'bin'), base.path));
    nodeBinFolders.set(nodeVersion, folder);
  }
  return folder;
}

/** Runs `node <script>` with the Node version inside the executables, with that node first on PATH. */
export async function runWithNode(script: string, args: string[], options: RunOptions & { nodeVersion?: string; nodeOptions?: string[] } = {}): Promise<ProgramRun> {
  const folder = await nodeBinFolder(options.nodeVersion);
  return runIn(path.join(folder, 'node'), [...(options.nodeOptions ?? []), script, ...args], `${folder}${path.delimiter}${pathWithoutNode()}`, options);
}

/** Returns the path of a bin script in a reference install. */
export function referenceScript(referenceDir: string, packageName: string, bin: string): Promise<string> {
  return findReferenceScript({ folder: referenceDir, packageName, bin });
}

/** Replaces the run's own folders with fixed tokens, so that two runs in different folders compare equal. */
export function withTokens(text: string, run: ProgramRun): string {
  return text.replaceAll(run.cwd, '<cwd>').replaceAll(run.home, '<home>').replaceAll(run.tmp, '<tmpdir>');
}

/** Runs the same arguments with the executable and with `node <script>`, each from its own fresh folder. */
export async function runBoth(
  executable: string,
  script: string,
  args: string[],
  options: RunOptions & { nodeVersion?: string } = {},
): Promise<{ run: ProgramRun; reference: ProgramRun }> {
  return { run: runExecutable(executable, args, options), reference: await runWithNode(script, args, options) };
}

/**
 * Removes the `at ...` lines of stack traces, also after color codes. NOTE: bundled modules report
 * positions in the bundle, not in their own files, so a printed stack trace
 * differs from node's until the build maps positions back to the sources.
 */
export function withoutStackFrames(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^(\x1b\[[0-9;]*m)*\s+at /.test(line))
    .join('\n');
}

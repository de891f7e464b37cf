import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_CHECKSUMS_DIR } from '../checksums.js';
import { DEFAULT_NODE_VERSION, defaultBuildCacheDir } from '../defaults.js';
import { findLauncher } from '../stages/self-check.js';
import { findTarget, hostTargetId } from '../targets.js';
import { readCorpus, selectEntries } from './corpus.js';
import { runEntry, type EntryContext, type RunnableTarget } from './entry-runner.js';
import { ConformanceError } from './errors.js';
import type { ConformanceReporter } from './events.js';
import { pruneExecutableCache } from './executable.js';
import type { ConformanceRun, HostInfo } from './results.js';
import { createNodeBinFolder, createNodelessBinFolder } from './scratch.js';
import { findNpmCli } from './reference.js';
import { snapshotDuoSea, type DuoSeaSnapshot } from './snapshot.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
export const DEFAULT_CONFORMANCE_TARGETS: readonly string[] = ['linux-x64'];

/** The repository root, which contains `lib/`, `targets/` and `package-lock.json`. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ConformanceOptions {
  corpusPath: string;
  /** Names of the entries to run, or all of them when empty or absent. */
  only?: string[];
  /** Target ids to build and run, `linux-x64` by default. */
  targets?: string[];
  /** Node version of the executables and the reference runs, duo-sea's default when absent. */
  nodeVersion?: string;
  /** duo-sea's build cache, `$DUO_SEA_CACHE` or the per-user cache folder when absent. */
  cacheDir?: string;
  /** Build every executable again, ignoring cached executables and failures. */
  rebuild?: boolean;
  /** Maximum time in ms of one command. A command that runs longer fails. */
  commandTimeoutMs?: number;
  report?: ConformanceReporter;
}

function describeHost(): HostInfo {
  const cpus = os.cpus();
  return {
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    harnessNodeVersion: process.version,
  };
}

async function findRunnableTargets(ids: readonly string[]): Promise<RunnableTarget[]> {
  const runnable: RunnableTarget[] = [];
  for (const id of ids) {
    const launcher = await findLauncher(findTarget(id), { platform: process.platform, arch: process.arch });
    if ('skipReason' in launcher) {
      throw new ConformanceError({ code: 'E_TARGET_NOT_RUNNABLE', message: `The ${id} executables cannot run on this host: ${launcher.skipReason}.`, hint: `Leave out ${id}, or run on a host that can start it.` });
    }
    runnable.push({ id, launcher });
  }
  return runnable;
}

/** Fetches the host's base binary of the Node version from duo-sea's cache, as a build does for the blob. */
async function fetchHostNode(options: {
  snapshot: DuoSeaSnapshot;
  nodeVersion: string;
  cacheDir: string;
  workDir: string;
  report: ConformanceReporter;
}): Promise<string> {
  const hostId = hostTargetId(process.platform, process.arch);
  if (!hostId) {
    throw new ConformanceError({ code: 'E_TARGET_NOT_RUNNABLE', message: `duo-sea has no Node base binary for this ${process.platform}-${process.arch} host.`, hint: 'Run the harness on linux-x64.' });
  }
  const base = await options.snapshot.fetchBaseBinary({
    target: findTarget(hostId),
    nodeVersion: options.nodeVersion,
    cache: new options.snapshot.ContentCache(options.cacheDir),
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
    report: (event) => options.report({ kind: 'build-progress', entry: '(setup)', event }),
    cwd: options.workDir,
  });
  return base.path;
}

/**
 * Runs every selected corpus entry with `node` and as a duo-sea executable
 * and returns what matched. Executables and deterministic build failures are
 * cached in duo-sea's cache, keyed by the entry, target, Node version and
 * duo-sea's compiled code, which the run copies first so that a compiler
 * writing `lib/` meanwhile cannot change it. Entries of older code versions
 * are removed first, except those of the most recently used one.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceRun> {
  const report = options.report ?? (() => {});
  const startedAt = new Date();
  const entries = selectEntries(await readCorpus(options.corpusPath), options.only ?? []);
  const targetIds = options.targets && options.targets.length > 0 ? [...options.targets] : [...DEFAULT_CONFORMANCE_TARGETS];
  const nodeVersion = options.nodeVersion ?? DEFAULT_NODE_VERSION;
  const cacheDir = options.cacheDir ?? defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const targets = await findRunnableTargets(targetIds);

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-conformance-'));
  try {
    const snapshot = await snapshotDuoSea(REPO_ROOT, path.join(workDir, 'duo-sea'));
    const { sourceHash } = snapshot;
    report({ kind: 'setup', message: `copied duo-sea's compiled code (sha256 ${sourceHash.slice(0, 16)})` });
    const removed = await pruneExecutableCache({ cacheDir, currentSourceHash: sourceHash });
    if (removed > 0) report({ kind: 'setup', message: `removed ${removed} cached executables of older duo-sea code` });
    report({ kind: 'setup', message: `fetching the Node ${nodeVersion} base binary of this host` });
    const hostNode = await fetchHostNode({ snapshot, nodeVersion, cacheDir, workDir, report });
    const context: EntryContext = {
      build: snapshot.build,
      workDir,
      nodeBinFolder: await createNodeBinFolder(path.join(workDir, 'node-bin'), hostNode),
      nodelessBinFolder: await createNodelessBinFolder(path.join(workDir, 'nodeless-bin')),
      npmCli: await findNpmCli(),
      nodeVersion,
      cacheDir,
      sourceHash,
      rebuild: options.rebuild ?? false,
      targets,
      commandTimeoutMs,
      report,
    };

    const results = [];
    for (const [index, entry] of entries.entries()) {
      report({ kind: 'entry-start', entry: entry.name, position: index + 1, total: entries.length });
      results.push(await runEntry(context, entry));
    }
    return {
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      host: describeHost(),
      nodeVersion,
      tool: { ...snapshot.tool, sourceHash },
      corpusPath: options.corpusPath,
      targets: targetIds,
      commandTimeoutMs,
      entries: results,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

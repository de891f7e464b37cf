import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { build as buildFunction } from '../build.js';
import type { Reporter } from '../events.js';
import type { CorpusEntry } from './corpus.js';
import type { SetupFailure } from './results.js';

/**
 * Build failures that come from the program and duo-sea's code alone, so
 * the same inputs fail the same way and the failure is cached like an
 * executable. Network, tool and unexpected failures are built again.
 */
const DETERMINISTIC_FAILURE_CODES = new Set([
  'E_NO_BIN',
  'E_AMBIGUOUS_BIN',
  'E_UNKNOWN_BIN',
  'E_PACKAGE_INVALID',
  'E_ENGINES',
  'E_BUNDLE_FAILED',
  'E_BLOB_FAILED',
  'E_INJECT_FAILED',
  'E_SELF_CHECK_FAILED',
]);

const RESULT_FILE = 'result.json';

export interface ExecutableRequest {
  /** duo-sea's `build()`, loaded from the snapshot whose code `sourceHash` describes. */
  build: typeof buildFunction;
  entry: CorpusEntry;
  target: string;
  nodeVersion: string;
  /** duo-sea's build cache. Executables are kept in its `conformance/` folder. */
  cacheDir: string;
  sourceHash: string;
  /** Build even when the cache has a result for these inputs. */
  rebuild: boolean;
  /** Folder for the build's output before it moves into the cache. */
  workDir: string;
  report: Reporter;
}

export type ExecutableResult =
  | { ok: true; path: string; cached: boolean; durationMs: number }
  | { ok: false; failure: SetupFailure; cached: boolean; durationMs: number };

interface CachedResult {
  inputs: Record<string, unknown>;
  executableFile?: string;
  failure?: SetupFailure;
}

/** Returns the inputs that decide an executable, and the cache key made from them. */
export function executableCacheKey(request: Pick<ExecutableRequest, 'entry' | 'target' | 'nodeVersion' | 'sourceHash'>): { key: string; inputs: Record<string, unknown> } {
  const inputs = {
    spec: request.entry.spec,
    extraSpecs: request.entry.extraSpecs,
    bin: request.entry.bin,
    target: request.target,
    nodeVersion: request.nodeVersion,
    sourceHash: request.sourceHash,
  };
  return { key: createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32), inputs };
}

function executablesDir(cacheDir: string): string {
  return path.join(cacheDir, 'conformance', 'executables');
}

/** Reads a cached result and marks it as used now, for pruneExecutableCache. */
async function readCachedResult(folder: string): Promise<CachedResult | undefined> {
  const file = path.join(folder, RESULT_FILE);
  if (!existsSync(file)) return undefined;
  const cached = JSON.parse(await readFile(file, 'utf8')) as CachedResult;
  if (cached.executableFile !== undefined && !existsSync(path.join(folder, cached.executableFile))) return undefined;
  const now = new Date();
  await utimes(file, now, now);
  return cached;
}

/**
 * Removes the cached executables of all duo-sea code versions except the
 * current one and the most recently used other one. Each change to duo-sea's
 * code builds every entry again, at about 120 MiB per executable, so without
 * pruning the cache grows by about 2 GiB per code change for a 16-entry corpus.
 * Returns how many entries were removed.
 */
export async function pruneExecutableCache(options: { cacheDir: string; currentSourceHash: string }): Promise<number> {
  const root = executablesDir(options.cacheDir);
  if (!existsSync(root)) return 0;
  const lastUseBySourceHash = new Map<string, number>();
  const foldersBySourceHash = new Map<string, string[]>();
  for (const name of await readdir(root)) {
    const resultFile = path.join(root, name, RESULT_FILE);
    if (name.startsWith('.') || !existsSync(resultFile)) continue;
    const { inputs } = JSON.parse(await readFile(resultFile, 'utf8')) as CachedResult;
    const sourceHash = String(inputs.sourceHash);
    const usedAtMs = (await stat(resultFile)).mtimeMs;
    lastUseBySourceHash.set(sourceHash, Math.max(usedAtMs, lastUseBySourceHash.get(sourceHash) ?? 0));
    foldersBySourceHash.set(sourceHash, [...(foldersBySourceHash.get(sourceHash) ?? []), path.join(root, name)]);
  }

  const others = [...lastUseBySourceHash.entries()].filter(([hash]) => hash !== options.currentSourceHash).sort((a, b) => b[1] - a[1]);
  let removed = 0;
  // NOTE: a harness run of older code that is still running loses its executables here, so its next commands fail to start.
  for (const [hash] of others.slice(1)) {
    for (const folder of foldersBySourceHash.get(hash) ?? []) {
      await rm(folder, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** Returns whether an error is a DuoSeaError, by its name: the snapshot's class is not the one this module imports. */
function isDuoSeaErrorLike(error: unknown): error is Error & { code: string; stage: string; hint?: string } {
  return error instanceof Error && error.name === 'DuoSeaError' && typeof (error as { code?: unknown }).code === 'string';
}

function toSetupFailure(error: unknown): SetupFailure {
  if (isDuoSeaErrorLike(error)) {
    return { phase: 'build', code: error.code, stage: error.stage, message: error.message, hint: error.hint };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { phase: 'build', code: 'E_INTERNAL', message };
}

/** Moves a file, copying it when the source is on another file system. */
async function moveFile(source: string, destination: string): Promise<void> {
  try {
    await rename(source, destination);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(source, destination);
    await rm(source, { force: true });
  }
}

/** Moves a finished cache folder into place. When another run was faster, its folder is kept. */
async function publishCacheFolder(staging: string, folder: string): Promise<void> {
  await mkdir(path.dirname(folder), { recursive: true });
  try {
    await rename(staging, folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Returns the entry's executable for one target from the cache, building it
 * with duo-sea's `build()` on a miss. Only a `.tar.gz` is written, because
 * xz takes about a minute per target and the archives are not compared.
 */
export async function obtainExecutable(request: ExecutableRequest): Promise<ExecutableResult> {
  const { key, inputs } = executableCacheKey(request);
  const folder = path.join(executablesDir(request.cacheDir), key);
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);

  if (request.rebuild) await rm(folder, { recursive: true, force: true });
  const cached = await readCachedResult(folder);
  if (cached?.executableFile !== undefined) return { ok: true, path: path.join(folder, cached.executableFile), cached: true, durationMs: elapsed() };
  if (cached?.failure !== undefined) return { ok: false, failure: cached.failure, cached: true, durationMs: elapsed() };

  const outDir = await mkdtemp(path.join(request.workDir, 'build-'));
  const staging = path.join(path.dirname(folder), `.${key}-${randomBytes(6).toString('hex')}`);
  try {
    const result = await request.build({
      spec: request.entry.spec,
      bin: request.entry.bin,
      targets: [request.target],
      nodeVersion: request.nodeVersion,
      outDir: path.join(outDir, 'dist'),
      cacheDir: request.cacheDir,
      withSpecs: request.entry.extraSpecs,
      archiveTypes: ['tar.gz'],
      cwd: outDir,
      report: request.report,
    });
    const executableFile = result.targets[0].executableFile;
    await mkdir(staging, { recursive: true });
    await moveFile(path.join(result.outDir, executableFile), path.join(staging, executableFile));
    await writeFile(path.join(staging, RESULT_FILE), JSON.stringify({ inputs, executableFile } satisfies CachedResult, null, 2) + '\n');
    await publishCacheFolder(staging, folder);
    return { ok: true, path: path.join(folder, executableFile), cached: false, durationMs: elapsed() };
  } catch (error) {
    const failure = toSetupFailure(error);
    if (DETERMINISTIC_FAILURE_CODES.has(failure.code)) {
      await mkdir(staging, { recursive: true });
      await writeFile(path.join(staging, RESULT_FILE), JSON.stringify({ inputs, failure } satisfies CachedResult, null, 2) + '\n');
      await publishCacheFolder(staging, folder);
    }
    return { ok: false, failure, cached: false, durationMs: elapsed() };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
}
